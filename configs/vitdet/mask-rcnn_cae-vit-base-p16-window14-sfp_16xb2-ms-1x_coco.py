# ViTDet-style Mask R-CNN with a CAE-pretrained ViT-B: window attention (14 x 14 patches, cls attends globally) in all
# blocks but 2, 5, 8 and 11, which keep global attention; only the last block is tapped and ViTDet's simple feature
# pyramid (LayerNorm'd, 256 wide, 5 levels) replaces adapter + FPN. Heads, data and optimisation as in the Mask R-CNN
# recipe.
_base_ = ['../mask_rcnn/mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py']
model = dict(
    backbone=dict(
        encoder=dict(out_indices=(11,), window_size=14, global_attention_indices=(2, 5, 8, 11)),
        adapter=dict(_delete_=True, type='cae_mm.SimpleFeaturePyramid', out_channels=256, num_outs=5),
    ),
    neck=None,
)
