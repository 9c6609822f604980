# mmpretrain 1.2's CAE optimisation (configs/cae/cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py): AdamW 1.5e-3 at
# 2048, weight decay 0.05 except biases, norms and other 1-D parameters (mmengine's constructor, so the 3-D cls and mask
# tokens are decayed), clipping 3.0, warmup from 1e-4 of the lr for 10 epochs, cosine to 1e-5 at 300 epochs.
_base_ = ['./cae_adamw_300e.py']
optim_wrapper = dict(
    constructor='DefaultOptimWrapperConstructor',
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR', T_max=290, eta_min=1e-5, by_epoch=True, begin=10, end=300, convert_to_iter_based=True
    ),
]
