# Tiny twin of the DALL-E target configs: the pixel twin's 64 px model (8 px patches, 8x8 grid, 32 masked) with a
# 64 px tokenizer view of the same crop (an 8x8 token grid) and an 8-wide DALL-E encoder over the real 8192-token
# vocabulary. checkpoint=None gives random tokenizer weights (a warning says so): tests pass a generated file instead.
_base_ = ['./cae_vit-test-p8_1xb4-pixel-8i_test.py']
vocab_size = 8192
model = dict(
    data_preprocessor=dict(type='TwoNormDataPreprocessor', second_mean=[-31.875] * 3, second_std=[318.75] * 3),
    head=dict(out_dims=vocab_size, reconstruction_loss='cross_entropy'),
    target_generator=dict(
        _delete_=True, type='cae_mm.DALLETokenizer', checkpoint=None, hidden_dims=8, vocab_size=vocab_size
    ),
)
train_pipeline = [
    dict(type='cae_mm.LoadImageWithPixelLimit'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='cae_mm.TwoViewRandomResizedCrop', size=64, second_size=64, scale=(0.08, 1.0)),
    dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patches=32, patch_size=8, min_patches_per_block=4),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
