# Attentive probe optimisation (official): SGD with Nesterov momentum .9 (the official `--opt sgd` builds
# `SGD(nesterov=True)`), weight decay 0, lr .4 at a total batch of 8192 (scale it linearly with
# `tools/train.py --auto-scale-lr`); 10 warmup epochs from 1e-6, then cosine to 1e-6, per iteration; 90 epochs.
warmup_epochs = 10
max_epochs = 90
lr = 0.4
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, nesterov=True, weight_decay=0.0),
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / lr,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min_ratio=1e-6 / lr,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=8192)
