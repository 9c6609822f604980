# Small-scale benchmark, segmentation transfer: UperNet on the 100 coco128_semseg training photos (124 classes, 255
# ignored), IoUMetric (mIoU, aAcc) on its 28 held-out photos. The project's UperNet recipe (blocks 3, 5, 7, 11 through
# the multi-scale adapter, relative position bias, AdamW, layer decay 0.65, drop path 0.1) with the ViT-Tiny/8 of a
# small-scale pretraining (--cfg-options model.backbone.init_cfg.checkpoint=PATH; init_cfg=None for random init):
# photos resized to fit 256x128, 128x128 crops (a 16x16 patch grid), a 192-wide UperNet, BN, batch 4, 240 iterations
# (about 10 epochs), lr 1e-4. Sized to the 2-core CPU budget: at 256x256 crops one iteration took 28 s on one core
# (Xeon with AMX, fp32), at 128x128 4.3 s, about 17 minutes a run.
_base_ = ['../upernet/upernet_cae-vit-base-p16_8xb2-160k_ade20k-512x512.py']
crop_size = (128, 128)
patch_size = 8
embed_dims = 192
data_root = '{{$CAE_MM_DATA:../shared/data}}/coco128_semseg'  # $CAE_MM_DATA overrides ../shared/data
# the 124 class names of classes.txt, in label order (0..123)
classes = tuple(open(data_root + '/classes.txt').read().splitlines())
num_classes = 124
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        encoder=dict(
            arch='tiny',
            patch_size=patch_size,
            relative_position_bias_grid=(crop_size[0] // patch_size, crop_size[1] // patch_size),
        ),
        adapter=dict(norm_cfg=norm_cfg),
        init_cfg=dict(checkpoint=None),
    ),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=embed_dims, num_classes=num_classes, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=embed_dims, channels=embed_dims // 2, num_classes=num_classes, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(85, 85)),
)
image_scale = (256, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='RandomResize', scale=image_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=False,
    metainfo=dict(classes=classes),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        **dataset,
        pipeline=test_pipeline,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
    ),
)
train_dataloader = dict(
    val_dataloader,
    batch_size=4,
    dataset=dict(
        val_dataloader['dataset'],
        pipeline=train_pipeline,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
warmup_iters = 24
max_iters = 240
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=warmup_iters, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=80, max_keep_ckpts=1))
