# Mask R-CNN 1x on COCO with a CAE-pretrained ViT-B (the paper's detection recipe): blocks 3, 5, 7, 11 through the
# multi-scale adapter (x4, x2, x1, x1/2) into an FPN; global attention with sin-cos positions recomputed for every input
# size; 4conv1fc box head with GIoU loss; AdamW 3e-4, layer decay 0.75, drop path 0.2, batch 32 (16 x 2), multi-scale
# training (short side 480-800), activation checkpointing. mmdet's own pieces come from the installed mmdet package.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['cae_mm'], allow_failed_imports=False)
# cae_mm's Runner and CheckpointHook (cae_mm/checkpoints): checkpoints read without running code, written atomically,
# checked against the model before loading; --resume by iteration number under a work dir lock.
runner_type = 'cae_mm.Runner'
default_hooks = dict(checkpoint=dict(type='cae_mm.CheckpointHook'))

# A cae_mm pretraining checkpoint (Runner file or backbone-only state dict); its keys are checked when it loads.
pretrained_checkpoint = 'checkpoints/cae_vit-base-p16_1600e_in1k.pth'
embed_dims = 768
# SyncBN across GPUs as in the paper; mmengine's Runner turns it into BN when not distributed.
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    backbone=dict(
        _delete_=True,
        type='cae_mm.MultiScaleVisionTransformer',
        encoder=dict(arch='base', patch_size=16, drop_path_rate=0.2, out_indices=(3, 5, 7, 11), with_checkpoint=True),
        adapter=dict(type='cae_mm.MultiScaleAdapter', norm_cfg=norm_cfg),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint, prefix='backbone.'),
    ),
    neck=dict(in_channels=[embed_dims] * 4),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg,
            reg_decoded_bbox=True,
            loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=10.0),
        )
    ),
)

train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomChoiceResize', scales=[(1333, short_side) for short_side in range(480, 801, 32)], keep_ratio=True),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='cae_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75),
)
auto_scale_lr = dict(enable=False, base_batch_size=32)
