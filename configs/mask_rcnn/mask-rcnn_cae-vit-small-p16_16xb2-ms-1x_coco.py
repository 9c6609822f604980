# Mask R-CNN 1x on COCO with a CAE-pretrained ViT-S (the official CAE small: 384 wide, 12 heads); otherwise the ViT-B
# recipe.
_base_ = ['./mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py']
pretrained_checkpoint = 'checkpoints/cae_vit-small-p16_300e_in1k.pth'
embed_dims = 384
model = dict(
    backbone=dict(encoder=dict(arch='small'), init_cfg=dict(checkpoint=pretrained_checkpoint)),
    neck=dict(in_channels=[embed_dims] * 4),
)
