# CAE ViT-B/16 linear probe (official recipe): the frozen encoder (every block, the patch embedding and the final
# norm; eval mode throughout) gives its cls token after the final LayerNorm -> BatchNorm1d(affine=False, eps 1e-6)
# -> Linear (std .01). No drop path. The encoder weights come from a CAE pretraining checkpoint; every key is checked.
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
        out_type='cls_token',
        final_norm=True,
        frozen_stages=12,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/cae_vit-base-p16_32xb64-dalle-1600e_in1k/epoch_1600.pth',
            prefix='backbone.')),
    neck=None,
    head=dict(type='cae_mm.LinearProbeHead', num_classes=1000, in_channels=768),
)
