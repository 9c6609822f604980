# tiny_imagenet_10 for small-scale pretraining (../shared/data, see its README): the 5,000 training photos (10 classes,
# 64x64) without their labels. Flip and one random resized crop at 64 px (scale .2-1: a .08 crop of a 64 px photo is
# 18 px, mostly blur), bicubic, no colour jitter; the same augmentation for every method (CAE adds its mask).
data_root = '{{$CAE_MM_DATA:../shared/data}}/tiny_imagenet_10'  # $CAE_MM_DATA overrides ../shared/data
image_size = 64
crop_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomResizedCrop',
        scale=image_size,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic',
    ),
]
train_pipeline = crop_pipeline + [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset', data_root=data_root, data_prefix='train', with_label=False, pipeline=train_pipeline
    ),
)
