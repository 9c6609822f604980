# Attentive probe of a CAE ViT-L/16 pretrained for 1600 epochs (official: 81.2 top-1): all 24 blocks frozen.
_base_ = ['./cae_vit-base-p16_32xb256-attentive-probe-sgd-90e_in1k.py']
model = dict(
    backbone=dict(
        arch='large',
        frozen_stages=24,
        init_cfg=dict(checkpoint='work_dirs/cae_vit-large-p16_32xb64-dalle-1600e_in1k/epoch_1600.pth'),
    ),
    head=dict(in_channels=1024, num_heads=16),
)
