# ImageNet-1k for fine-tuning (official CAE/BEiT recipe through timm): random resized crop (scale .08-1, bicubic)
# to 224, horizontal flip, then the recipe's RandAugment and random erasing (./fine-tune_augmentation.py); Mixup/CutMix
# act on the batch (see the model). Evaluation: shorter side to 256 (bicubic), centre crop 224.
_base_ = ['./imagenet_probe.py', './fine-tune_augmentation.py']
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    _base_.rand_augment,
    _base_.random_erasing,
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
