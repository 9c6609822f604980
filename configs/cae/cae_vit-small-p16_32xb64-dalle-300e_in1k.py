# CAE ViT-S/16 as the official code defines it (384 wide, 12 heads), DALL-E targets, 300 epochs.
_base_ = ['./cae_vit-base-p16_32xb64-dalle-300e_in1k.py']
model = dict(
    backbone=dict(arch='small'), neck=dict(embed_dims=384, num_heads=12), head=dict(embed_dims=384, num_heads=12)
)
