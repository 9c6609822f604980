# Small-scale pretraining schedule (configs/small_scale): AdamW (0.9, 0.999) wd 0.05 except 1-D parameters and tokens,
# clipping 3.0, per-iteration linear warmup then cosine to 1e-5. One schedule for every method, so they get the same
# number of images. `max_iters`, `warmup_iters` and `lr` are set by each experiment.
max_iters = 800
warmup_iters = 80
# 3.75e-4, not the demo's 1.5e-3: at 1.5e-3 CAE's features collapse within 200 iterations (docs/small_scale.md). The
# official 1.5e-3 is for batch 2048, so batch 64 is still above its linear (4.7e-5) and square-root (2.7e-4) scalings.
lr = 3.75e-4
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
