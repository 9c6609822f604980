# Tiny twin of the Mask R-CNN configs, for tests: a 64-wide, 4-block encoder with 16 px patches (all four blocks
# tapped), 32-wide heads, 3 classes, two epochs on rendered scenes in COCO format (`python
# tools/data/rendered_scenes.py`), evaluated with mmdet's CocoMetric (box and mask AP).
# The encoder starts from random weights (init_cfg=None). A config inheriting this one loads a pretrained encoder
# with model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=PATH,
# prefix='backbone.'))): `_delete_` because mmengine does not merge a dict into None (docs/downstream.md).
_base_ = ['./mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py']
embed_dims = 64
width = 32
classes = ('square', 'disc', 'triangle')
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        encoder=dict(
            _delete_=True,
            arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4),
            patch_size=16,
            out_indices=(0, 1, 2, 3),
        ),
        adapter=dict(norm_cfg=norm_cfg),
        init_cfg=None,
    ),
    neck=dict(in_channels=[embed_dims] * 4, out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(
            in_channels=width,
            conv_out_channels=width,
            fc_out_channels=2 * width,
            num_classes=len(classes),
            norm_cfg=norm_cfg,
        ),
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(in_channels=width, conv_out_channels=width, num_classes=len(classes)),
    ),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100)),
)

data_root = 'data/rendered_scenes/coco/'
image_scale = (160, 128)
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        metainfo=dict(classes=classes),
        pipeline=test_pipeline,
    ),
)
train_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[max_epochs], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_epochs))
