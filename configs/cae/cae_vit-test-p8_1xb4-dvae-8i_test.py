# Tiny twin of the d-VAE target config: the DALL-E twin with an 8-wide discrete VAE encoder (random weights unless a
# test passes a file) reading the tokenizer view normalised to [-1, 1].
_base_ = ['./cae_vit-test-p8_1xb4-dalle-8i_test.py']
model = dict(
    data_preprocessor=dict(second_mean=[127.5] * 3, second_std=[127.5] * 3),
    target_generator=dict(_delete_=True, type='cae_mm.DiscreteVAETokenizer', checkpoint=None, hidden_dims=8),
)
