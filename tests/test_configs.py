"""Every config loads; every test-sized twin builds and trains a step; the paper's numbers are where they should be."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from tests.conftest import CONFIG_ROOT

# mmdet/mmseg configs (scope mmdet/mmseg, host models) have their own checks in tests/downstream/.
DOWNSTREAM_FOLDERS = {'mask_rcnn', 'cascade_mask_rcnn', 'vitdet', 'upernet'}
EXPERIMENT_CONFIGS = sorted(
    p for p in CONFIG_ROOT.rglob('*.py') if '_base_' not in p.parts and p.parent.name not in DOWNSTREAM_FOLDERS
)
PRETRAINING_TEST_CONFIGS = [p for p in EXPERIMENT_CONFIGS if p.parent.name == 'cae' and p.stem.endswith('_test')]
# A host library's own model that a benchmark compares cae_mm with: no cae_mm model class in it.
PEER_CONFIGS = {'small_scale/mae_vit-tiny-p8_1xb64-800i_tiny-imagenet-10.py'}


def model_types(config: object) -> list[str]:
    """Every ``type`` value in a (nested) config."""
    if isinstance(config, dict):
        own = [config['type']] if isinstance(config.get('type'), str) else []
        return own + [t for value in config.values() for t in model_types(value)]
    if isinstance(config, (list, tuple)):
        return [t for value in config for t in model_types(value)]
    return []


def config_id(path: Path) -> str:
    return str(path.relative_to(CONFIG_ROOT))


@pytest.mark.parametrize('path', EXPERIMENT_CONFIGS, ids=config_id)
def test_every_config_loads_with_host_scope_and_plugin_import(path):
    """Each experiment config parses, keeps a host library's scope, imports cae_mm strictly and uses its classes."""
    cfg = Config.fromfile(path)
    assert cfg.default_scope in ('mmpretrain', 'mmdet', 'mmseg')
    assert cfg.custom_imports == dict(imports=['cae_mm'], allow_failed_imports=False)
    assert config_id(path) in PEER_CONFIGS or any(name.startswith('cae_mm.') for name in model_types(cfg.model))
    # cae_mm's checkpoint handling is switched on by the config, never by the import (cae_mm/checkpoints/runner.py).
    assert cfg.runner_type == 'cae_mm.Runner' and cfg.default_hooks.checkpoint.type == 'cae_mm.CheckpointHook'


@pytest.mark.parametrize('path', PRETRAINING_TEST_CONFIGS, ids=config_id)
def test_every_pretraining_test_config_builds_and_trains_a_step(path, demo_data_root):
    """The tiny pretraining twin's model, dataset and optimizer build from the config and one step lowers nothing to NaN."""
    from mmpretrain.registry import DATASETS, MODELS
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper

    cfg = Config.fromfile(path)
    cfg.train_dataloader.dataset.data_root = str(demo_data_root / 'images')
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    data = model.data_preprocessor(batch, True)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    losses = model(**data, mode='loss')
    optim_wrapper.update_params(sum(losses.values()))
    assert all(torch.isfinite(loss) for loss in losses.values())
    DefaultScope._instance_dict.clear()


def pipeline_step(cfg: Config, type_name: str) -> dict:
    return next(step for step in cfg.train_dataloader.dataset.pipeline if step['type'] == type_name)


@pytest.mark.parametrize('epochs,warmup', [(300, 10), (800, 20), (1600, 40)])
def test_vit_base_configs_carry_the_paper_recipe(epochs, warmup):
    """ViT-B: AdamW 1.5e-3 @ 2048, wd .05, clip 3, warmup/cosine to 1e-5, dp .1, 98 of 196 masked, 4 + 4 blocks."""
    cfg = Config.fromfile(CONFIG_ROOT / 'cae' / f'cae_vit-base-p16_32xb64-pixel-{epochs}e_in1k.py')
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('AdamW', 1.5e-3, 0.05)
    assert tuple(optimizer.betas) == (0.9, 0.999) and optimizer.eps == 1e-8
    assert cfg.optim_wrapper.clip_grad.max_norm == 3.0
    assert cfg.auto_scale_lr.base_batch_size == 2048 == 32 * cfg.train_dataloader.batch_size
    warmup_step, cosine_step = cfg.param_scheduler
    assert warmup_step.end == warmup == cosine_step.begin and cosine_step.end == epochs == cfg.train_cfg.max_epochs
    assert cosine_step.eta_min == 1e-5
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert cfg.model.neck.depth == 4 and cfg.model.head.depth == 4
    assert cfg.model.head.alignment_weight == 2.0
    assert pipeline_step(cfg, 'cae_mm.BlockwiseMaskGenerator').num_masked_patches == 98
    assert pipeline_step(cfg, 'cae_mm.TwoViewRandomResizedCrop').size == 224


@pytest.mark.parametrize(
    'size,arch,width,heads', [('small', 'small', 384, 12), ('large', 'large', 1024, 16), ('huge', 'huge', 1280, 16)]
)
def test_other_sizes_match_their_encoder_width(size, arch, width, heads):
    """Regressor and decoder are as wide as the encoder (the official ViT-L script's 768 slip is not reproduced)."""
    path = next((CONFIG_ROOT / 'cae').glob(f'cae_vit-{size}-p16_*.py'))
    cfg = Config.fromfile(path)
    assert cfg.model.backbone.arch == arch
    assert cfg.model.neck.embed_dims == cfg.model.head.embed_dims == width
    assert cfg.model.neck.num_heads == cfg.model.head.num_heads == heads
