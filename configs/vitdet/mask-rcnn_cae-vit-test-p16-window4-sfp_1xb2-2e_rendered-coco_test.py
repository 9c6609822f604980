# Tiny twin of the ViTDet-style config, for tests: the tiny Mask R-CNN twin with window attention (4 x 4 patches, so
# the 8 x 10 grid of a 128 x 160 image is cut into padded windows; blocks 1 and 3 global), the last block tapped and a
# 32-wide simple feature pyramid.
_base_ = ['../mask_rcnn/mask-rcnn_cae-vit-test-p16_1xb2-2e_rendered-coco_test.py']
model = dict(
    backbone=dict(
        encoder=dict(out_indices=(3,), window_size=4, global_attention_indices=(1, 3)),
        adapter=dict(_delete_=True, type='cae_mm.SimpleFeaturePyramid', out_channels=32, num_outs=5),
    ),
    neck=None,
)
