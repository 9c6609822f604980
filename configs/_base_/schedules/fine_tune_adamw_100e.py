# Fine-tuning optimisation (official CAE ViT-B, BEiT protocol): AdamW (0.9, 0.999), eps 1e-8, weight decay 0.05
# except 1-D parameters and the cls token, layer-wise lr decay 0.65 (the head at the full lr, block i at
# 0.65 ** (12 - i)), lr 8e-3 at a total batch of 4096 (scale it linearly with `tools/train.py --auto-scale-lr`);
# 5 warmup epochs from 1e-6, then cosine to 1e-6 (both scaled by each group's layer decay), per iteration; 100 epochs.
# No gradient clipping.
_base_ = ['./warmup_cosine_epochs.py']
warmup_epochs = 5
max_epochs = 100
lr = 8e-3
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65),
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
)
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr, end=warmup_epochs),
    dict(_base_.param_scheduler[1], eta_min_ratio=1e-6 / lr, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=4096)
