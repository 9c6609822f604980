# Small-scale benchmark, detection transfer: Mask R-CNN on the 100 coco128 training photos, CocoMetric (box and mask
# AP) on its 28 held-out photos. The project's Mask R-CNN recipe (blocks 3, 5, 7, 11 through the multi-scale adapter
# into an FPN, 4conv1fc GIoU box head, AdamW, layer decay 0.75, drop path 0.1 for a tiny encoder) with the ViT-Tiny/8
# of a small-scale pretraining (--cfg-options model.backbone.init_cfg.checkpoint=PATH; init_cfg=None for random
# init) at a small input size: photos resized to fit 320x240 (a 40x30 patch grid), batch 2, 6 epochs, lr 1e-4, BN.
# Sized to the 2-core CPU budget: the FPN and RoI heads are 128 wide (256 in the full recipe) and sample 128 RoIs per
# photo (512), which took one iteration from 19 s to 4.2 s on one core (Xeon with AMX, fp32): about 20 minutes a run.
_base_ = ['../mask_rcnn/mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py']
embed_dims = 192
head_width = 128
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        encoder=dict(arch='tiny', patch_size=8, drop_path_rate=0.1, with_checkpoint=False),
        adapter=dict(norm_cfg=norm_cfg),
        init_cfg=dict(checkpoint=None),
    ),
    neck=dict(in_channels=[embed_dims] * 4, out_channels=head_width),
    rpn_head=dict(in_channels=head_width, feat_channels=head_width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=head_width),
        bbox_head=dict(in_channels=head_width, conv_out_channels=head_width, fc_out_channels=512, norm_cfg=norm_cfg),
        mask_roi_extractor=dict(out_channels=head_width),
        mask_head=dict(in_channels=head_width, conv_out_channels=head_width),
    ),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))),
    # every detection counts: a short run's scores stay under the usual 0.05, and AP ranks them anyway
    test_cfg=dict(rcnn=dict(score_thr=0.0)),
)
data_root = '{{$CAE_MM_DATA:../shared/data}}/coco128/'  # $CAE_MM_DATA overrides ../shared/data
image_scale = (320, 240)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
val_dataloader = dict(
    batch_size=2,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        pipeline=test_pipeline,
    ),
)
train_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json', metric=['bbox', 'segm'])
test_evaluator = val_evaluator
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[4, 5], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=1e-4), paramwise_cfg=dict(layer_decay_rate=0.75))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2, max_keep_ckpts=1))
