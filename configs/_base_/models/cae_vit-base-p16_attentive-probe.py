# CAE ViT-B/16 attentive probe (the paper's protocol; official recipe): the frozen encoder gives all its tokens (cls
# and patches) after the final LayerNorm; one zero-initialised query cross-attends to them (LayerNorms on query, keys
# and values, q/v biases, output projection, no residual, no MLP) -> BatchNorm1d(affine=False) -> Linear (std .01).
# The BatchNorm evaluates with running statistics (the official release used batch statistics).
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='cae_mm.CAEVisionTransformer',
        arch='base',
        patch_size=16,
        drop_path_rate=0.0,
        out_type='raw',
        final_norm=True,
        frozen_stages=12,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/cae_vit-base-p16_32xb64-dalle-1600e_in1k/epoch_1600.pth',
            prefix='backbone.')),
    neck=None,
    head=dict(type='cae_mm.AttentiveProbeHead', num_classes=1000, in_channels=768, num_heads=12),
)
