# An ImageNet-1k classifier on the CAE ViT-B/16 encoder, its weights the `backbone.` keys of the 1600-epoch
# DALL-E-target pretraining checkpoint (every key is checked). The probe and fine-tuning models choose the encoder's
# output, drop path and freezing, and the head.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='cae_mm.CAEVisionTransformer',
        arch='base',
        patch_size=16,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/cae_vit-base-p16_32xb64-dalle-1600e_in1k/epoch_1600.pth',
            prefix='backbone.',
        ),
    ),
    neck=None,
)
