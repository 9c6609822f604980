# The quick-start demo: CAE ViT-Tiny/16 (192 wide, 12 blocks, 12 heads, as the official tiny) with the paper's masking
# (98 of 196 patches) and losses, trained for 300 iterations on the bundled photographs on a CPU (a few minutes).
_base_ = [
    '../_base_/models/cae_vit-base-p16.py',
    '../_base_/datasets/demo_images_cae.py',
    '../_base_/schedules/cae_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(arch='tiny'), neck=dict(embed_dims=192, num_heads=12), head=dict(embed_dims=192, num_heads=12)
)
max_iters = 300
warmup_iters = 30
# The base lr (1.5e-3) is used unscaled at batch 16: scaled linearly from 2048 it would barely move in 300 steps.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=2))
