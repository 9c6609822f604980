# CAE ViT-B/16 linear probe (official recipe): the frozen encoder (every block, the patch embedding and the final
# norm; eval mode throughout) gives its cls token after the final LayerNorm -> BatchNorm1d(affine=False, eps 1e-6)
# -> Linear (std .01). No drop path.
_base_ = ['./cae_vit-base-p16_classifier.py']
model = dict(
    backbone=dict(drop_path_rate=0.0, out_type='cls_token', final_norm=True, frozen_stages=12),
    head=dict(type='cae_mm.LinearProbeHead', num_classes=1000, in_channels=768),
)
