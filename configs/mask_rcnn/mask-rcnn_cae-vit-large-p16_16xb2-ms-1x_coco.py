# Mask R-CNN 1x on COCO with a CAE-pretrained ViT-L: blocks 7, 11, 15, 23; otherwise the ViT-B recipe.
_base_ = ['./mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py']
pretrained_checkpoint = 'checkpoints/cae_vit-large-p16_1600e_in1k.pth'
embed_dims = 1024
model = dict(
    backbone=dict(
        encoder=dict(arch='large', out_indices=(7, 11, 15, 23)), init_cfg=dict(checkpoint=pretrained_checkpoint)
    ),
    neck=dict(in_channels=[embed_dims] * 4),
)
