"""The point of the project: the encoder that CAE pretraining writes loads, key for key, into mmdet's Mask R-CNN and
mmseg's UperNet through ``init_cfg=dict(type='Pretrained', prefix='backbone.')``."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import Runner

from cae_mm.checkpoints import CheckpointMismatchError, read_checkpoint
from tests.conftest import TEST_CONFIG
from tests.downstream.runs import MASK_RCNN_TEST, UPERNET_TEST, detection_config, segmentation_config

PATCH_SIZE = 16
FOUR_BLOCKS = dict(embed_dims=64, num_layers=4, num_heads=4)


@pytest.fixture(scope='module')
def pretraining_checkpoint(tmp_path_factory: pytest.TempPathFactory, demo_data_root: Path) -> Path:
    """Run the tiny CAE pretraining config (2 iterations on the real photographs) with the downstream twins' encoder:
    4 blocks, 16 px patches on 128 px crops (the same 8 x 8 grid and 32 masked patches as the twin's defaults)."""
    work_dir = tmp_path_factory.mktemp('cae_pretraining')
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.train_dataloader.dataset.data_root = str(demo_data_root / 'images')
    cfg.model.backbone.update(arch=FOUR_BLOCKS, patch_size=PATCH_SIZE)
    cfg.model.head.out_dims = PATCH_SIZE * PATCH_SIZE * 3
    cfg.model.target_generator.patch_size = PATCH_SIZE
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'cae_mm.TwoViewRandomResizedCrop':
            step.size = 128
        if step.type == 'cae_mm.BlockwiseMaskGenerator':
            step.patch_size = PATCH_SIZE
    cfg.train_cfg.max_iters = 2
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint.interval = 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: see tests/downstream/conftest.py
    try:
        Runner.from_cfg(cfg).train()
    finally:
        torch.set_num_threads(threads)
        DefaultScope._instance_dict.clear()
    return work_dir / 'iter_2.pth'


def backbone_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    state_dict = read_checkpoint(checkpoint)['state_dict']
    return {key[len('backbone.') :]: value for key, value in state_dict.items() if key.startswith('backbone.')}


def build_with_pretrained_backbone(cfg: Config, checkpoint: Path):
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def pretrained_and_loaded(cfg: Config, checkpoint: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The checkpoint's encoder weights and the state of the config's encoder built from them; every pretrained key
    must be used."""
    pretrained = backbone_weights(checkpoint)
    encoder_state = build_with_pretrained_backbone(cfg, checkpoint).backbone.encoder.state_dict()
    assert set(pretrained) - set(encoder_state) == set()  # no unused backbone key
    return pretrained, encoder_state


@pytest.mark.slow
def test_cae_checkpoint_loads_into_mask_rcnn_with_no_unused_backbone_key(
    pretraining_checkpoint, rendered_coco, tmp_path
):
    pretrained, encoder_state = pretrained_and_loaded(
        detection_config(MASK_RCNN_TEST, rendered_coco, tmp_path), pretraining_checkpoint
    )
    assert set(encoder_state) - set(pretrained) == set()  # every encoder tensor comes from pretraining
    for key, value in encoder_state.items():
        torch.testing.assert_close(value, pretrained[key], rtol=0, atol=0, msg=key)


@pytest.mark.slow
def test_cae_checkpoint_loads_into_upernet_with_no_unused_backbone_key(pretraining_checkpoint, rendered_ade, tmp_path):
    """UperNet adds the zero-initialised relative position bias (new keys); every pretrained key is used."""
    pretrained, encoder_state = pretrained_and_loaded(
        segmentation_config(UPERNET_TEST, rendered_ade, tmp_path), pretraining_checkpoint
    )
    new_keys = set(encoder_state) - set(pretrained)
    assert new_keys == {f'relative_position_bias.{index}.table' for index in range(4)}
    assert all(torch.count_nonzero(encoder_state[key]) == 0 for key in new_keys)
    for key, value in pretrained.items():
        torch.testing.assert_close(encoder_state[key], value, rtol=0, atol=0, msg=key)


@pytest.mark.slow
def test_checkpoint_of_the_wrong_patch_size_is_refused(pretraining_checkpoint, rendered_coco, tmp_path):
    cfg = detection_config(MASK_RCNN_TEST, rendered_coco, tmp_path)
    cfg.model.backbone.encoder.patch_size = 8
    with pytest.raises(CheckpointMismatchError, match=r'patch_embed.weight: checkpoint \(64, 3, 16, 16\)'):
        build_with_pretrained_backbone(cfg, pretraining_checkpoint)
