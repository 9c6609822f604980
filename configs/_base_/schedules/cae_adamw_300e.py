# CAE pretraining optimisation (official): AdamW (0.9, 0.999), eps 1e-8, lr 1.5e-3 at a total batch of 2048 (scale it
# linearly with `tools/train.py --auto-scale-lr`), weight decay 0.05 except 1-D parameters and cls/mask tokens,
# gradient clipping at 3.0, linear warmup then cosine to 1e-5, per iteration.
warmup_epochs = 10
max_epochs = 300
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=2048)
