# Linear probe optimisation (official, MAE's protocol): LARS (momentum .9, trust coefficient .001; biases are not
# adapted), weight decay 0, lr = 0.1 x batch / 256 = 6.4 at a total batch of 16384 (scale it linearly with
# `tools/train.py --auto-scale-lr`); 10 warmup epochs from 0, then cosine to 0, per iteration; 90 epochs.
_base_ = ['./warmup_cosine_epochs.py']
warmup_epochs = 10
max_epochs = 90
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='LARS', lr=6.4, momentum=0.9, weight_decay=0.0),
)
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6, end=warmup_epochs),
    dict(_base_.param_scheduler[1], eta_min=0.0, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(base_batch_size=16384)
