# UperNet on ADE20K with a CAE-pretrained ViT-L (1600 epochs): blocks 7, 11, 15, 23, 1024 wide, lr 4e-5, layer decay
# 0.95, drop path 0.15 (the official CAE ViT-L segmentation settings); otherwise the ViT-B recipe.
_base_ = ['./upernet_cae-vit-base-p16_8xb2-160k_ade20k-512x512.py']
pretrained_checkpoint = 'checkpoints/cae_vit-large-p16_1600e_in1k.pth'
embed_dims = 1024
model = dict(
    backbone=dict(
        encoder=dict(arch='large', drop_path_rate=0.15, out_indices=(7, 11, 15, 23)),
        init_cfg=dict(checkpoint=pretrained_checkpoint),
    ),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=embed_dims),
    auxiliary_head=dict(in_channels=embed_dims),
)
optim_wrapper = dict(optimizer=dict(lr=4e-5), paramwise_cfg=dict(layer_decay_rate=0.95))
