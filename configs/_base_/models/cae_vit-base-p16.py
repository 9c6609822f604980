# CAE ViT-B/16 (official recipe): encoder dp 0.1 and layer scale 0.1; regressor and decoder 4 blocks each at the
# encoder's width, layer scale 0.1, the same drop-path rate; alignment weight 2. Pixel targets here; the tokenizer
# target configs replace `target_generator` and the head's output.
patch_size = 16
model = dict(
    type='cae_mm.CAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(type='cae_mm.CAEVisionTransformer', arch='base', patch_size=patch_size, drop_path_rate=0.1),
    neck=dict(
        type='cae_mm.LatentContextRegressor',
        embed_dims=768,
        depth=4,
        num_heads=12,
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
    ),
    head=dict(
        type='cae_mm.CAEDecoderHead',
        embed_dims=768,
        out_dims=patch_size * patch_size * 3,
        depth=4,
        num_heads=12,
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
        reconstruction_loss='mse',
        alignment_weight=2.0,
    ),
    target_generator=dict(type='cae_mm.NormalizedPixelTarget', patch_size=patch_size, normalize_per_patch=True),
)
