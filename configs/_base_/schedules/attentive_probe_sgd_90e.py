# Attentive probe optimisation (official): SGD with Nesterov momentum .9 (the official `--opt sgd` builds
# `SGD(nesterov=True)`), weight decay 0, lr .4 at a total batch of 8192 (scale it linearly with
# `tools/train.py --auto-scale-lr`); 10 warmup epochs from 1e-6, then cosine to 1e-6, per iteration; 90 epochs.
_base_ = ['./warmup_cosine_epochs.py']
warmup_epochs = 10
max_epochs = 90
lr = 0.4
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, nesterov=True, weight_decay=0.0),
)
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr, end=warmup_epochs),
    dict(_base_.param_scheduler[1], eta_min_ratio=1e-6 / lr, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(base_batch_size=8192)
