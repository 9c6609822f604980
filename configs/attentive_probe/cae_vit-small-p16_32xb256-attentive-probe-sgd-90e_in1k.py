# Attentive probe of a CAE ViT-S/16 (official small: 384 wide, 12 heads) pretrained for 300 epochs.
_base_ = ['./cae_vit-base-p16_32xb256-attentive-probe-sgd-90e_in1k.py']
model = dict(
    backbone=dict(
        arch='small', init_cfg=dict(checkpoint='work_dirs/cae_vit-small-p16_32xb64-dalle-300e_in1k/epoch_300.pth')
    ),
    head=dict(in_channels=384, num_heads=12),
)
