"""The mmdet/mmseg configs: host scope, strict plugin import, the paper's recipe, nothing downloaded, models build."""

from pathlib import Path

import pytest
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from tests.conftest import CONFIG_ROOT

SCOPES = {'mask_rcnn': 'mmdet', 'cascade_mask_rcnn': 'mmdet', 'vitdet': 'mmdet', 'upernet': 'mmseg'}
DOWNSTREAM_CONFIGS = sorted(path for folder in SCOPES for path in (CONFIG_ROOT / folder).glob('*.py'))
FULL_SIZE_CONFIGS = [path for path in DOWNSTREAM_CONFIGS if not path.stem.endswith('_test')]


def config_id(path: Path) -> str:
    return str(path.relative_to(CONFIG_ROOT))


def config(folder: str, name: str) -> Config:
    return Config.fromfile(CONFIG_ROOT / folder / f'{name}.py')


def values_under(node, key: str):
    """Every value stored under ``key`` anywhere in a nested config."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from values_under(value, key)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from values_under(item, key)


def test_every_family_has_full_size_configs_and_a_tiny_twin():
    for folder in SCOPES:
        names = [path.stem for path in (CONFIG_ROOT / folder).glob('*.py')]
        assert any(name.endswith('_test') for name in names) and any(not name.endswith('_test') for name in names)


@pytest.mark.parametrize('path', DOWNSTREAM_CONFIGS, ids=config_id)
def test_config_keeps_the_host_scope_imports_cae_mm_and_downloads_nothing(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == SCOPES[path.parent.name]
    assert cfg.custom_imports == dict(imports=['cae_mm'], allow_failed_imports=False)
    assert cfg.model.backbone.type == 'cae_mm.MultiScaleVisionTransformer'
    locations = [*values_under(cfg._cfg_dict, 'checkpoint'), *values_under(cfg._cfg_dict, 'pretrained')]
    assert all(location is None or '://' not in str(location) for location in locations)
    assert cfg.get('load_from') is None


@pytest.mark.parametrize('path', FULL_SIZE_CONFIGS, ids=config_id)
def test_full_size_configs_load_a_local_cae_checkpoint_with_the_backbone_prefix(path):
    init_cfg = Config.fromfile(path).model.backbone.init_cfg
    assert init_cfg.type == 'Pretrained' and init_cfg.prefix == 'backbone.'
    assert init_cfg.checkpoint.startswith('checkpoints/cae_vit-')


@pytest.mark.parametrize(
    'size,arch,taps,width',
    [
        ('small', 'small', (3, 5, 7, 11), 384),
        ('base', 'base', (3, 5, 7, 11), 768),
        ('large', 'large', (7, 11, 15, 23), 1024),
    ],
)
def test_mask_rcnn_configs_carry_the_paper_recipe(size, arch, taps, width):
    """AdamW 3e-4, layer decay .75, dp .2, batch 32, 480-800 multi-scale, 4conv1fc + GIoU, checkpointing, adapter."""
    cfg = config('mask_rcnn', f'mask-rcnn_cae-vit-{size}-p16_16xb2-ms-1x_coco')
    encoder = cfg.model.backbone.encoder
    assert (encoder.arch, encoder.patch_size, tuple(encoder.out_indices)) == (arch, 16, taps)
    assert encoder.drop_path_rate == 0.2 and encoder.with_checkpoint
    assert encoder.get('window_size', 0) == 0
    assert cfg.model.backbone.adapter.type == 'cae_mm.MultiScaleAdapter'
    assert cfg.model.neck.type == 'FPN' and cfg.model.neck.in_channels == [width] * 4
    bbox_head = cfg.model.roi_head.bbox_head
    assert bbox_head.type == 'Shared4Conv1FCBBoxHead' and bbox_head.reg_decoded_bbox
    assert bbox_head.loss_bbox == ConfigDict(type='GIoULoss', loss_weight=10.0)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('AdamW', 3e-4, 0.05)
    assert cfg.optim_wrapper.constructor == 'cae_mm.LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.75
    assert cfg.auto_scale_lr.base_batch_size == 32 == 16 * cfg.train_dataloader.batch_size
    resize = next(step for step in cfg.train_dataloader.dataset.pipeline if step.type == 'RandomChoiceResize')
    assert [short for _, short in resize.scales] == list(range(480, 801, 32))
    assert {long for long, _ in resize.scales} == {1333} and resize.keep_ratio
    assert cfg.train_cfg.max_epochs == 12


def test_cascade_config_has_three_giou_stages_on_the_same_backbone():
    cfg = config('cascade_mask_rcnn', 'cascade-mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco')
    base = config('mask_rcnn', 'mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco')
    assert cfg.model.type == 'CascadeRCNN' and cfg.model.roi_head.type == 'CascadeRoIHead'
    assert cfg.model.backbone == base.model.backbone and cfg.optim_wrapper == base.optim_wrapper
    heads = cfg.model.roi_head.bbox_head
    assert [head.type for head in heads] == ['Shared4Conv1FCBBoxHead'] * 3
    assert all(head.loss_bbox.type == 'GIoULoss' and head.reg_decoded_bbox for head in heads)
    assert [stage.assigner.pos_iou_thr for stage in cfg.model.train_cfg.rcnn] == [0.5, 0.6, 0.7]


def test_vitdet_config_windows_all_but_four_blocks_and_uses_the_simple_pyramid():
    cfg = config('vitdet', 'mask-rcnn_cae-vit-base-p16-window14-sfp_16xb2-ms-1x_coco')
    encoder = cfg.model.backbone.encoder
    assert encoder.window_size == 14 and tuple(encoder.global_attention_indices) == (2, 5, 8, 11)
    assert tuple(encoder.out_indices) == (11,)
    assert cfg.model.backbone.adapter == ConfigDict(type='cae_mm.SimpleFeaturePyramid', out_channels=256, num_outs=5)
    assert cfg.model.neck is None


@pytest.mark.parametrize(
    'size,taps,width,lr,layer_decay,drop_path',
    [('base', (3, 5, 7, 11), 768, 1e-4, 0.65, 0.1), ('large', (7, 11, 15, 23), 1024, 4e-5, 0.95, 0.15)],
)
def test_upernet_configs_carry_the_paper_recipe(size, taps, width, lr, layer_decay, drop_path):
    """512 crops, 160k iterations, batch 16, UperNet as wide as the encoder, AdamW with layer decay, rel. pos. bias."""
    cfg = config('upernet', f'upernet_cae-vit-{size}-p16_8xb2-160k_ade20k-512x512')
    encoder = cfg.model.backbone.encoder
    assert tuple(encoder.out_indices) == taps and encoder.drop_path_rate == drop_path
    assert tuple(encoder.relative_position_bias_grid) == (32, 32)
    assert cfg.model.neck is None and cfg.model.backbone.adapter.type == 'cae_mm.MultiScaleAdapter'
    assert cfg.model.decode_head.in_channels == [width] * 4 and cfg.model.decode_head.channels == width
    assert cfg.model.decode_head.num_classes == cfg.model.auxiliary_head.num_classes == 150
    assert cfg.optim_wrapper.optimizer.type == 'AdamW' and cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == layer_decay
    assert cfg.train_cfg.max_iters == 160000 and cfg.param_scheduler[-1].end == 160000
    assert 8 * cfg.train_dataloader.batch_size == cfg.auto_scale_lr.base_batch_size == 16
    assert tuple(cfg.crop_size) == (512, 512) and cfg.model.test_cfg.mode == 'slide'


@pytest.mark.parametrize(
    'path',
    [
        CONFIG_ROOT / 'mask_rcnn' / 'mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py',
        CONFIG_ROOT / 'vitdet' / 'mask-rcnn_cae-vit-base-p16-window14-sfp_16xb2-ms-1x_coco.py',
        CONFIG_ROOT / 'upernet' / 'upernet_cae-vit-base-p16_8xb2-160k_ade20k-512x512.py',
    ],
    ids=config_id,
)
def test_full_size_vit_b_models_build_with_vit_b_parameter_names(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    encoder = model.backbone.encoder
    assert encoder.embed_dims == 768 and encoder.num_layers == 12
    assert 'backbone.encoder.layers.11.attn.qkv.weight' in dict(model.named_parameters())
