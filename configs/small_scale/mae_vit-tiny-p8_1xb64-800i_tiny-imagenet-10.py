# Small-scale benchmark peer: mmpretrain's own MAE (`mmpretrain.models.MAE`, its model config family) scaled to the
# same encoder as the CAE runs: ViT-Tiny/8 (192 wide, 12 blocks, 12 heads) at 64 px, 75% random masking, its
# normalised-pixel loss; its decoder at the CAE regressor + decoder's size (8 blocks, 192 wide). MAE's own optimizer
# settings (AdamW betas (0.9, 0.95), no decay on norms, biases, tokens, positions); the same data, augmentation,
# batch, iterations and lr schedule as the CAE runs.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/tiny_imagenet_10_pretraining.py',
    '../_base_/schedules/small_scale_adamw.py',
    '../_base_/default_runtime.py',
]
patch_size = 8
model = dict(
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=192, num_layers=12, num_heads=12, feedforward_channels=768),
        img_size=64,
        patch_size=patch_size,
        mask_ratio=0.75,
    ),
    neck=dict(
        num_patches=64,
        patch_size=patch_size,
        embed_dim=192,
        decoder_embed_dim=192,
        decoder_depth=8,
        decoder_num_heads=12,
    ),
    head=dict(patch_size=patch_size),
)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr={{_base_.lr}}, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'ln': dict(decay_mult=0.0),
            'bias': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0),
        }
    ),
)
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1))
custom_hooks = _base_.custom_hooks + [dict(type='cae_mm.FeatureRankHook', interval=100, num_images=64)]
