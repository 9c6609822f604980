# CAE ViT-H/16 (1280 wide, 32 blocks), normalised-pixel targets, 1600 epochs; patch 16 keeps the 98-of-196 masking.
_base_ = ['./cae_vit-base-p16_32xb64-pixel-1600e_in1k.py']
model = dict(
    backbone=dict(arch='huge'),
    neck=dict(embed_dims=1280, num_heads=16),
    head=dict(embed_dims=1280, num_heads=16),
)
