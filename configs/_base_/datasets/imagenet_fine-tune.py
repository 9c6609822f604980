# ImageNet-1k for fine-tuning (official CAE/BEiT recipe through timm): random resized crop (scale .08-1, bicubic)
# to 224, horizontal flip, RandAugment rand-m9-mstd0.5-inc1 (the official fine-tuning script sets it for every
# fine-tuning run; colour jitter is then off), random erasing 0.25 (per-pixel random values); Mixup/CutMix act on the
# batch (see the model). Evaluation: shorter side to 256 (bicubic), centre crop 224.
_base_ = ['./imagenet_probe.py']
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[round(value) for value in bgr_mean], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean,
        fill_std=bgr_std),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
