# CAE ViT-B/16 attentive probe (the paper's protocol; official recipe): the frozen encoder gives all its tokens (cls
# and patches) after the final LayerNorm; one zero-initialised query cross-attends to them (LayerNorms on query, keys
# and values, q/v biases, output projection, no residual, no MLP) -> BatchNorm1d(affine=False) -> Linear (std .01).
# The BatchNorm evaluates with running statistics (the official release used batch statistics).
_base_ = ['./cae_vit-base-p16_classifier.py']
model = dict(
    backbone=dict(drop_path_rate=0.0, out_type='raw', final_norm=True, frozen_stages=12),
    head=dict(type='cae_mm.AttentiveProbeHead', num_classes=1000, in_channels=768, num_heads=12),
)
