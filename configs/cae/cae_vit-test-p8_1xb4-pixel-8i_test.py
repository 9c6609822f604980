# Tiny twin of the CAE pretraining configs, for tests: 64 px images, 8 px patches (8x8 = 64), 32 masked, a 64-wide
# 2-block encoder, 1-block regressor and decoder, 8 iterations on the bundled photographs.
_base_ = ['./cae_vit-tiny-p16_1xb16-pixel-300i_demo.py']
patch_size = 8
model = dict(
    backbone=dict(arch='test', patch_size=patch_size),
    neck=dict(embed_dims=64, num_heads=4, depth=1),
    head=dict(embed_dims=64, num_heads=4, depth=1, out_dims=patch_size * patch_size * 3),
    target_generator=dict(patch_size=patch_size),
)
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='cae_mm.TwoViewRandomResizedCrop', size=64, scale=(0.08, 1.0), interpolation='bicubic'),
    dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patches=32, patch_size=patch_size, min_patches_per_block=4),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, dataset=dict(pipeline=train_pipeline))
max_iters = 8
param_scheduler = [  # the base schedule's warmup and cosine, shortened
    dict(_base_.param_scheduler[0], end=2),
    dict(_base_.param_scheduler[1], begin=2, end=max_iters),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))
