# Small-scale benchmark, fine-tuning on tiny_imagenet_10 (the BEiT/CAE protocol scaled down): the ViT-Tiny/8 encoder
# of a small-scale pretraining (--cfg-options model.backbone.init_cfg.checkpoint=PATH; init_cfg=None for a random
# one) with a zero-initialised relative position bias for the 8x8 grid, mean-pooled patches -> LN -> Linear, layer
# decay 0.65, drop path 0.1, Mixup/CutMix and label smoothing (no RandAugment at 64 px); batch 64, 10 epochs (780
# iterations, about 20 minutes on one CPU core with bf16 autocast), warmup 1, lr 1e-3: the linear scaling of
# 8e-3 @ 4096 (1.25e-4) barely moves a short run on 5,000 photos.
_base_ = [
    '../_base_/models/cae_vit-base-p16_fine-tune.py',
    '../_base_/datasets/tiny_imagenet_10_classification.py',
    '../_base_/schedules/fine_tune_adamw_100e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(num_classes=10),
    backbone=dict(arch='tiny', patch_size=8, relative_position_bias_grid=(8, 8), init_cfg=dict(checkpoint=None)),
    head=dict(num_classes=10, in_channels=192),
)
warmup_epochs = 1
max_epochs = 10
lr = 1e-3
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6 / lr, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min_ratio=1e-6 / lr,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=5, max_keep_ckpts=1))
