# UperNet on ADE20K (512 x 512 crops, 160k iterations, batch 16 = 8 x 2) with a CAE-pretrained ViT-B, the paper's
# segmentation recipe: blocks 3, 5, 7, 11 through the multi-scale adapter (x4, x2, x1, x1/2) into a 768-wide UperNet;
# sin-cos positions plus a relative position bias for the 32 x 32 patch grid (zero-initialised: absent from the
# pretraining checkpoint); AdamW, layer decay 0.65, drop path 0.1, linear warm-up then poly decay.
# The learning rate follows the pretraining length: 1e-4 for 1600 epochs (this file), 2e-4 for 800, 3e-4 for 300
# (`--cfg-options optim_wrapper.optimizer.lr=2e-4`). mmseg's own pieces come from the installed mmseg package.
_base_ = [
    'mmseg::_base_/models/upernet_mae.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['cae_mm'], allow_failed_imports=False)
# cae_mm's Runner and CheckpointHook (cae_mm/checkpoints): checkpoints read without running code, written atomically,
# checked against the model before loading; --resume by iteration number under a work dir lock.
runner_type = 'cae_mm.Runner'
default_hooks = dict(checkpoint=dict(type='cae_mm.CheckpointHook'))

# A cae_mm pretraining checkpoint (Runner file or backbone-only state dict); its keys are checked when it loads.
pretrained_checkpoint = 'checkpoints/cae_vit-base-p16_1600e_in1k.pth'
crop_size = (512, 512)
patch_size = 16
embed_dims = 768
num_classes = 150
# SyncBN across GPUs as in the paper; mmengine's Runner turns it into BN when not distributed.
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='cae_mm.MultiScaleVisionTransformer',
        encoder=dict(
            arch='base',
            patch_size=patch_size,
            drop_path_rate=0.1,
            out_indices=(3, 5, 7, 11),
            relative_position_bias_grid=(crop_size[0] // patch_size, crop_size[1] // patch_size),
        ),
        adapter=dict(type='cae_mm.MultiScaleAdapter', norm_cfg=norm_cfg),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint, prefix='backbone.'),
    ),
    neck=None,
    decode_head=dict(in_channels=[embed_dims] * 4, channels=embed_dims, num_classes=num_classes, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=embed_dims, num_classes=num_classes, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)),
)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65),
)
warmup_iters = 1500
max_iters = 160000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=warmup_iters, end=max_iters, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
