"""Round trip for every config family (issue 11): each tiny twin trains with cae_mm's Runner, then its checkpoint is
read back through tools/test.py, ``--resume`` and tools/publish_model.py.

The detection twins use mmdet's MultiStepLR (``collections.Counter`` milestones in the checkpoint), the runner
checkpoints hold numpy values and mmengine's log buffers: all of it must read back through the one restricted reader.
Schedules are cut to one epoch (or two iterations); ``--resume`` then continues from the finished run, which loads and
checks everything (weights, optimizer, schedulers, message hub) without training further.
"""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from cae_mm.checkpoints import read_checkpoint, weights_of
from tests.conftest import CONFIG_ROOT, TEST_CONFIG
from tests.downstream.runs import (
    CASCADE_TEST,
    MASK_RCNN_TEST,
    UPERNET_TEST,
    VITDET_TEST,
    detection_config,
    segmentation_config,
)
from tests.tools.tool_loading import load_tool

PROBES = {
    'linear_probe': CONFIG_ROOT / 'linear_probe' / 'cae_vit-test-p4_1xb64-linear-probe-lars-2e_digits_test.py',
    'attentive_probe': CONFIG_ROOT / 'attentive_probe' / 'cae_vit-test-p4_1xb64-attentive-probe-sgd-2e_digits_test.py',
    'fine_tune': CONFIG_ROOT / 'fine_tune' / 'cae_vit-test-p4_1xb64-fine-tune-2e_digits_test.py',
}
DETECTION = {'mask_rcnn': MASK_RCNN_TEST, 'cascade_mask_rcnn': CASCADE_TEST, 'vitdet': VITDET_TEST}


def pretraining_config(demo_images: Path) -> Config:
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': str(demo_images),
            'train_cfg.max_iters': 2,
            'default_hooks.checkpoint.interval': 2,
        }
    )
    return cfg


def probe_config(path: Path, digits: Path) -> Config:
    cfg = Config.fromfile(path)
    subsets = {'train': list(range(0, 1347, 10)), 'val': list(range(0, 450, 45)), 'test': list(range(0, 450, 45))}
    for split, indices in subsets.items():
        cfg.merge_from_dict(
            {f'{split}_dataloader.dataset.data_root': str(digits), f'{split}_dataloader.dataset.indices': indices}
        )
    cfg.merge_from_dict(
        {
            'model.backbone.init_cfg': None,
            'train_cfg.max_epochs': 1,
            'train_cfg.val_interval': 1,
            'default_hooks.checkpoint.interval': 1,
        }
    )
    return cfg


def round_trip(cfg: Config, folder: Path, has_test_loop: bool = True) -> None:
    """Train, then tools/test.py, --resume and publish_model.py on the checkpoint the run wrote."""
    config_file = folder / 'config.py'
    cfg.log_level = 'INFO'  # the resume check reads the log
    cfg.dump(str(config_file))
    work_dir = folder / 'work_dir'
    train = load_tool('train.py')
    DefaultScope._instance_dict.clear()
    train.main([str(config_file), '--work-dir', str(work_dir)])
    checkpoint = Path((work_dir / 'last_checkpoint').read_text())
    saved = read_checkpoint(checkpoint)
    assert {'meta', 'state_dict', 'optimizer', 'param_schedulers', 'message_hub'} <= set(saved)

    if has_test_loop:
        DefaultScope._instance_dict.clear()
        metrics = load_tool('test.py').main([str(config_file), str(checkpoint), '--work-dir', str(folder / 'test')])
        assert metrics, 'tools/test.py reported no metric'

    DefaultScope._instance_dict.clear()
    train.main([str(config_file), '--work-dir', str(work_dir), '--resume'])
    logs = sorted(work_dir.glob('*/*.log'))
    resumed = logs[-1].read_text()
    assert f'resuming from {checkpoint}' in resumed
    assert f'resumed epoch: {saved["meta"]["epoch"]}, iter: {saved["meta"]["iter"]}' in resumed

    release = load_tool('publish_model.py').main([str(checkpoint), str(folder / 'release' / 'model.pth')])
    published = torch.load(release, map_location='cpu', weights_only=True)  # plain tensors and values only
    assert set(published) == {'meta', 'state_dict'}
    expected = weights_of(saved, checkpoint)
    assert published['state_dict'].keys() == expected.keys()
    assert all(torch.equal(published['state_dict'][key], value) for key, value in expected.items())


@pytest.mark.slow
def test_pretraining_round_trip(tmp_path, demo_data_root):
    round_trip(pretraining_config(demo_data_root / 'images'), tmp_path, has_test_loop=False)


@pytest.mark.slow
@pytest.mark.parametrize('family', PROBES)
def test_classification_round_trip(family, tmp_path, digits):
    round_trip(probe_config(PROBES[family], digits), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize('family', DETECTION)
def test_detection_round_trip(family, tmp_path, rendered_coco):
    cfg = detection_config(DETECTION[family], rendered_coco, tmp_path / 'work_dir')
    cfg.merge_from_dict(
        {'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1, 'default_hooks.checkpoint.interval': 1}
    )
    round_trip(cfg, tmp_path)


@pytest.mark.slow
def test_segmentation_round_trip(tmp_path, rendered_ade):
    cfg = segmentation_config(UPERNET_TEST, rendered_ade, tmp_path / 'work_dir')
    cfg.merge_from_dict({'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2, 'default_hooks.checkpoint.interval': 2})
    round_trip(cfg, tmp_path)
