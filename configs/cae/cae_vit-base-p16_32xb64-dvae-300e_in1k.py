# CAE ViT-B/16 with the official code's own discrete VAE as tokenizer (--discrete_vae_type customized: 8192 tokens,
# 3 stride-2 layers, width 256) instead of DALL-E, 300 epochs. Its input is the 112 px view normalised with mean 0.5 and
# std 0.5 on the [0, 1] scale. Put its weights (the official pytorch_model.bin) at the checkpoint path below.
_base_ = ['./cae_vit-base-p16_32xb64-dalle-300e_in1k.py']
model = dict(
    data_preprocessor=dict(second_mean=[127.5] * 3, second_std=[127.5] * 3),
    target_generator=dict(
        _delete_=True, type='cae_mm.DiscreteVAETokenizer', checkpoint='data/tokenizers/dvae_8192.pth'
    ),
)
