# Tiny twin of the UperNet configs, for tests: a 64-wide, 4-block encoder with 16 px patches (all four blocks
# tapped, relative position bias for the 8 x 8 grid of a 128 px crop), a 32-wide UperNet with BN, 4 iterations on
# rendered scenes in ADE20K format (`python tools/data/rendered_scenes.py`; label PNG values 1-4, i.e. the
# first four ADE20K classes, which stand for background, square, disc and triangle), evaluated with mmseg's IoUMetric
# (mIoU).
# The encoder starts from random weights (init_cfg=None). A config inheriting this one loads a pretrained encoder
# with model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=PATH,
# prefix='backbone.'))): `_delete_` because mmengine does not merge a dict into None (docs/downstream.md).
_base_ = ['./upernet_cae-vit-base-p16_8xb2-160k_ade20k-512x512.py']
crop_size = (128, 128)
patch_size = 16
embed_dims = 64
width = 32
classes = ('wall', 'building', 'sky', 'floor')
num_classes = len(classes)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        encoder=dict(
            _delete_=True,
            arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4),
            patch_size=patch_size,
            out_indices=(0, 1, 2, 3),
            relative_position_bias_grid=(crop_size[0] // patch_size, crop_size[1] // patch_size),
        ),
        adapter=dict(norm_cfg=norm_cfg),
        init_cfg=None,
    ),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=width, num_classes=num_classes, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=embed_dims, channels=width, num_classes=num_classes, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(64, 64)),
)

data_root = 'data/rendered_scenes/ade'
image_scale = (384, 128)
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=image_scale, ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline),
)
test_dataloader = val_dataloader

warmup_iters = 1
max_iters = 4
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=warmup_iters, end=max_iters, by_epoch=False),
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(base_batch_size=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_iters))
