# CAE ViT-H/16 (1280 wide, 32 blocks), normalised-pixel targets, 1600 epochs; patch 16 keeps the 98-of-196 masking.
# The official large-model settings: regressor and decoder as wide as the encoder with layer scale 1e-5, and the
# `--fix_init_weight` initialisation (truncated normal, residual-output layers of block i divided by sqrt(2 i)).
_base_ = ['./cae_vit-base-p16_32xb64-pixel-1600e_in1k.py']
model = dict(
    backbone=dict(arch='huge', init_mode='rescaled_truncated_normal'),
    neck=dict(embed_dims=1280, num_heads=16, layer_scale_init_value=1e-5, init_mode='rescaled_truncated_normal'),
    head=dict(embed_dims=1280, num_heads=16, layer_scale_init_value=1e-5, init_mode='rescaled_truncated_normal'),
)
