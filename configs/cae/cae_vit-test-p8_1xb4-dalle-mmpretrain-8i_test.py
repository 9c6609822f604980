# Tiny twin of the mmpretrain-variant config: the DALL-E twin with mmpretrain's own two-view crop and BEiT mask
# generator (24 of 64 patches: its 75/196 ratio), drop path 0, and mmpretrain's optimizer rules.
_base_ = ['./cae_vit-test-p8_1xb4-dalle-8i_test.py']
model = dict(backbone=dict(drop_path_rate=0.0), neck=dict(drop_path_rate=0.0), head=dict(drop_path_rate=0.0))
train_pipeline = [  # the same crop through mmpretrain's transform, then its mask generator
    *_base_.train_pipeline[:2],
    dict(
        _base_.train_pipeline[2],
        type='RandomResizedCropAndInterpolationWithTwoPic',
        interpolation='bicubic',
        second_interpolation='lanczos',
    ),
    dict(type='BEiTMaskGenerator', input_size=(8, 8), num_masking_patches=24, max_num_patches=None, min_num_patches=4),
    _base_.train_pipeline[4],
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    constructor='DefaultOptimWrapperConstructor',
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
