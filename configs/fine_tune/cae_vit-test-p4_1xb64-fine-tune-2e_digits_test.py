# Tiny twin of the fine-tuning configs, for tests: a 64-wide 2-block encoder on 32 px digits (4 px patches: an 8x8
# grid, so an 8x8 relative position bias), 2 epochs of the same protocol (AdamW, layer decay .65, warmup, cosine,
# RandAugment, random erasing, Mixup/CutMix, label smoothing, drop path .1), lr 8e-3 scaled linearly to 64 images.
_base_ = [
    '../_base_/models/cae_vit-base-p16_fine-tune.py',
    '../_base_/datasets/digits_classification.py',
    '../_base_/datasets/fine-tune_augmentation.py',
    '../_base_/schedules/fine_tune_adamw_100e.py',
    '../_base_/default_runtime.py',
]
# The encoder of a tiny CAE pretrained on the digits images without their labels (tools/train.py
# configs/cae/cae_vit-test-p4_1xb64-pixel-1500i_digits.py); a random encoder instead: model.backbone.init_cfg=None
pretrained = 'work_dirs/cae_vit-test-p4_1xb64-pixel-1500i_digits/iter_1500.pth'
model = dict(
    data_preprocessor=dict(num_classes=10),
    backbone=dict(arch='test', patch_size=4, relative_position_bias_grid=(8, 8), init_cfg=dict(checkpoint=pretrained)),
    head=dict(num_classes=10, in_channels=64),
)
# The digits pipeline (crop to 32 px, flip) with the recipe's RandAugment and random erasing before PackInputs.
train_pipeline = [*_base_.train_pipeline[:-1], _base_.rand_augment, _base_.random_erasing, _base_.train_pipeline[-1]]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
warmup_epochs = 1
max_epochs = 2
lr = 8e-3 * 64 / 4096
optim_wrapper = dict(optimizer=dict(lr=lr))
# The base schedule's warmup and cosine, shortened, from and to 1e-6 at this lr.
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr, end=warmup_epochs),
    dict(_base_.param_scheduler[1], eta_min_ratio=1e-6 / lr, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
