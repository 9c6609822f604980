# ImageNet-1k for CAE with a tokenizer: one random resized crop gives the 224 px model view (bicubic) and the 112 px
# tokenizer view (lanczos), so both see the same region; the 14x14 token grid matches the 14x14 patch grid.
_base_ = ['./imagenet_cae.py']
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='cae_mm.TwoViewRandomResizedCrop',
        size=224,
        second_size=112,
        scale=(0.08, 1.0),
        interpolation='bicubic',
        second_interpolation='lanczos',
    ),
    dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patches=98, patch_size=16, min_patches_per_block=16),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
