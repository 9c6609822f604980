# CAE ViT-B/16 with the paper's main target: DALL-E token ids of the masked patches (8192 classes, cross-entropy).
# The tokenizer reads a second, 112 px view of the same crop (datasets/imagenet_cae_two_view.py), mapped by DALL-E's
# map_pixels: TwoNormDataPreprocessor's second_mean/second_std give (x + 31.875) / 318.75 = 0.8 * x / 255 + 0.1.
# Put the DALL-E encoder weights at the checkpoint path below (dalle_encoder.pth from mmpretrain or OpenAI's
# encoder.pkl; the error message names both URLs). The tokenizer is frozen and never saved into checkpoints.
_base_ = ['./cae_vit-base-p16.py']
vocab_size = 8192
model = dict(
    data_preprocessor=dict(type='TwoNormDataPreprocessor', second_mean=[-31.875] * 3, second_std=[318.75] * 3),
    head=dict(out_dims=vocab_size, reconstruction_loss='cross_entropy'),
    target_generator=dict(
        _delete_=True,
        type='cae_mm.DALLETokenizer',
        checkpoint='data/tokenizers/dalle_encoder.pth',
        vocab_size=vocab_size,
    ),
)
