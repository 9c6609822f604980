# Linear probe optimisation (official, MAE's protocol): LARS (momentum .9, trust coefficient .001; biases are not
# adapted), weight decay 0, lr = 0.1 x batch / 256 = 6.4 at a total batch of 16384 (scale it linearly with
# `tools/train.py --auto-scale-lr`); 10 warmup epochs from 0, then cosine to 0, per iteration; 90 epochs.
warmup_epochs = 10
max_epochs = 90
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='LARS', lr=6.4, momentum=0.9, weight_decay=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16384)
