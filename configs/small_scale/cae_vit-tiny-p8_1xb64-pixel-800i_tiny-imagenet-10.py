# Small-scale benchmark, CAE with alignment (λ = 2): ViT-Tiny/8 (192 wide, 12 blocks, 12 heads) at 64 px (an 8x8 patch
# grid), regressor and decoder of 4 blocks at 192, normalised-pixel targets, 32 of 64 patches masked block-wise (50%),
# on the 5,000 tiny_imagenet_10 training photos without labels; batch 64, 800 iterations (about 10 epochs).
_base_ = [
    '../_base_/models/cae_vit-base-p16.py',
    '../_base_/datasets/tiny_imagenet_10_pretraining.py',
    '../_base_/schedules/small_scale_adamw.py',
    '../_base_/default_runtime.py',
]
patch_size = 8
model = dict(
    backbone=dict(arch='tiny', patch_size=patch_size),
    neck=dict(embed_dims=192, num_heads=12),
    head=dict(embed_dims=192, num_heads=12, out_dims=patch_size * patch_size * 3),
    target_generator=dict(patch_size=patch_size),
)
train_pipeline = _base_.crop_pipeline + [
    dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patches=32, patch_size=patch_size, min_patches_per_block=4),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1))
custom_hooks = _base_.custom_hooks + [dict(type='cae_mm.FeatureRankHook', interval=100, num_images=64)]
log_processor = dict(by_epoch=False)
