# CAE ViT-B/16 fine-tuning (BEiT protocol, official recipe): sin-cos absolute positions plus a zero-initialised
# relative position bias in every block (14x14 grid: 224 px, 16 px patches); the patch tokens are mean-pooled without
# the encoder's final norm, then LayerNorm -> Linear (initialised x0.001); drop path 0.1; Mixup 0.8 / CutMix 1.0
# (one of the two per batch) with label smoothing 0.1.
_base_ = ['./cae_vit-base-p16_classifier.py']
model = dict(
    backbone=dict(drop_path_rate=0.1, out_type='avg_featmap', final_norm=False, relative_position_bias_grid=(14, 14)),
    head=dict(
        type='cae_mm.FineTuningHead',
        num_classes=1000,
        in_channels=768,
        init_scale=0.001,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
    ),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
