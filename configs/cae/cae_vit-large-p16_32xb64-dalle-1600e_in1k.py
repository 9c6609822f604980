# CAE ViT-L/16, DALL-E targets, 1600 epochs. Regressor and decoder are 1024 wide, as the official ViT-L script intends
# (a missing line continuation there silently trains a 768-wide regressor).
_base_ = ['./cae_vit-base-p16_32xb64-dalle-1600e_in1k.py']
model = dict(
    backbone=dict(arch='large'),
    neck=dict(embed_dims=1024, num_heads=16),
    head=dict(embed_dims=1024, num_heads=16),
)
