# ImageNet-1k for CAE pretraining (mmpretrain's layout: data/imagenet/train/..., data/imagenet/meta/train.txt).
# Flip, one random resized crop (scale .08-1, bicubic, 224), block-wise mask of 98 of 196 patches. No colour jitter.
data_root = 'data/imagenet/'
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='cae_mm.TwoViewRandomResizedCrop', size=224, scale=(0.08, 1.0), interpolation='bicubic'),
    dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patches=98, patch_size=16, min_patches_per_block=16),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix=dict(img_path='train/'),
        with_label=False,
        pipeline=train_pipeline,
    ),
)
