# Tiny twin of the mmpretrain-variant config: the DALL-E twin with mmpretrain's own two-view crop and BEiT mask
# generator (24 of 64 patches: its 75/196 ratio), drop path 0, and mmpretrain's optimizer rules.
_base_ = ['./cae_vit-test-p8_1xb4-dalle-8i_test.py']
model = dict(backbone=dict(drop_path_rate=0.0), neck=dict(drop_path_rate=0.0), head=dict(drop_path_rate=0.0))
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomResizedCropAndInterpolationWithTwoPic',
        size=64,
        second_size=64,
        interpolation='bicubic',
        second_interpolation='lanczos',
        scale=(0.08, 1.0),
    ),
    dict(type='BEiTMaskGenerator', input_size=(8, 8), num_masking_patches=24, max_num_patches=None, min_num_patches=4),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    constructor='DefaultOptimWrapperConstructor',
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
