# CAE ViT-L/16, DALL-E targets, 1600 epochs, as the official large script intends: regressor and decoder 1024 wide with
# layer scale 1e-5, and the `--fix_init_weight` initialisation (truncated normal, residual-output layers of block i
# divided by sqrt(2 i)). (A missing line continuation in that script silently drops the width and `--fix_init_weight`.)
_base_ = ['./cae_vit-base-p16_32xb64-dalle-1600e_in1k.py']
model = dict(
    backbone=dict(arch='large', init_mode='rescaled_truncated_normal'),
    neck=dict(embed_dims=1024, num_heads=16, layer_scale_init_value=1e-5, init_mode='rescaled_truncated_normal'),
    head=dict(embed_dims=1024, num_heads=16, layer_scale_init_value=1e-5, init_mode='rescaled_truncated_normal'),
)
