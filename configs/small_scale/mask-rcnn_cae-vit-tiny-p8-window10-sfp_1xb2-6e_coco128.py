# Small-scale benchmark, ViTDet-style detection transfer: the coco128 Mask R-CNN run with window attention (10x10
# patch windows of the 40x30 grid, blocks 2, 5, 8, 11 global), the last block only, and a simple feature pyramid.
_base_ = ['./mask-rcnn_cae-vit-tiny-p8_1xb2-6e_coco128.py']
model = dict(
    backbone=dict(
        encoder=dict(out_indices=(11,), window_size=10, global_attention_indices=(2, 5, 8, 11)),
        adapter=dict(_delete_=True, type='cae_mm.SimpleFeaturePyramid', out_channels={{_base_.head_width}}, num_outs=5),
    ),
    neck=None,
)
