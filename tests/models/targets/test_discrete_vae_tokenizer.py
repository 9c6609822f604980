"""Tests for cae_mm.models.targets.DiscreteVAETokenizer against a reference built from torch layers."""

import pytest
import torch
from torch import nn

from cae_mm.models.targets import DiscreteVAETokenizer, TokenizerWeightsError
from cae_mm.registry import MODELS

HIDDEN = 16
VOCAB = 8192
CODEBOOK = 32


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 1),
        )

    def forward(self, x):
        return self.net(x) + x


class ReferenceDiscreteVAE(nn.Module):
    """The official code's DiscreteVAE layout (BEiT's): encoder, decoder and codebook, from plain torch layers."""

    def __init__(self, num_layers: int = 3, hidden: int = HIDDEN, vocab: int = VOCAB) -> None:
        super().__init__()
        self.codebook = nn.Embedding(vocab, CODEBOOK)
        encoder, decoder, encoder_in, decoder_in = [], [], 3, CODEBOOK
        for _ in range(num_layers):
            encoder += [
                nn.Sequential(nn.Conv2d(encoder_in, hidden, 4, stride=2, padding=1), nn.ReLU()),
                ResidualBlock(hidden),
            ]
            decoder += [
                nn.Sequential(nn.ConvTranspose2d(decoder_in, hidden, 4, stride=2, padding=1), nn.ReLU()),
                ResidualBlock(hidden),
            ]
            encoder_in = decoder_in = hidden
        encoder.append(nn.Conv2d(hidden, vocab, 1))
        decoder.append(nn.Conv2d(hidden, 3, 1))
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)


@pytest.fixture(scope='module')
def reference() -> ReferenceDiscreteVAE:
    torch.manual_seed(0)
    return ReferenceDiscreteVAE().eval()


def normalised_images(batch: int = 2, side: int = 112) -> torch.Tensor:
    return torch.rand(batch, 3, side, side, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_logits_and_ids_match_the_reference_encoder(reference, tmp_path):
    """The official file layout ({'weights': full d-VAE}) loads; the decoder and codebook are ignored."""
    path = tmp_path / 'pytorch_model.bin'
    torch.save({'weights': reference.state_dict()}, path)
    tokenizer = DiscreteVAETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)
    images = normalised_images()
    with torch.no_grad():
        expected = reference.encoder(images)
    logits = tokenizer.logits(images)
    assert logits.shape == (2, VOCAB, 14, 14)
    torch.testing.assert_close(logits, expected, atol=1e-6, rtol=0)
    assert torch.equal(tokenizer.token_ids(images), expected.argmax(1).flatten(1))
    mask = torch.zeros(2, 14, 14, dtype=torch.bool)
    mask[:, 5:9] = True
    ids = tokenizer(images, mask)
    assert ids.shape == (2, 56)
    assert torch.equal(ids, expected.argmax(1)[:, 5:9].flatten(1))
    assert tokenizer.state_dict() == {} and list(tokenizer.parameters()) == []


def test_plain_state_dict_of_the_encoder_alone_loads(reference):
    encoder_only = {key: value for key, value in reference.state_dict().items() if key.startswith('encoder.')}
    tokenizer = DiscreteVAETokenizer(checkpoint=encoder_only, hidden_dims=HIDDEN)
    assert torch.equal(tokenizer.encoder[6].weight, reference.encoder[6].weight)


def test_missing_file_names_the_official_file(tmp_path):
    with pytest.raises(TokenizerWeightsError, match='discrete VAE weights not found.*pytorch_model.bin'):
        DiscreteVAETokenizer(checkpoint=str(tmp_path / 'dvae.pth'))


def test_other_vocabulary_size_is_named():
    small = ReferenceDiscreteVAE(vocab=1024).state_dict()
    with pytest.raises(TokenizerWeightsError, match='vocabulary of 1024 tokens'):
        DiscreteVAETokenizer(checkpoint=small, hidden_dims=HIDDEN)


def test_other_layer_count_is_listed(reference):
    with pytest.raises(TokenizerWeightsError, match='missing'):
        DiscreteVAETokenizer(checkpoint=reference.state_dict(), num_layers=4, hidden_dims=HIDDEN)


def test_pickled_modules_are_refused(tmp_path):
    path = tmp_path / 'dvae.pkl'
    torch.save(ReferenceDiscreteVAE(hidden=4, vocab=16), path)
    with pytest.raises(TokenizerWeightsError, match='refusing to load.*only plain state dicts'):
        DiscreteVAETokenizer(checkpoint=str(path), hidden_dims=4, vocab_size=16)


def test_input_outside_minus_one_one_is_an_error():
    tokenizer = DiscreteVAETokenizer(checkpoint=None, hidden_dims=4, vocab_size=16)
    with pytest.raises(ValueError, match=r'second_mean=\[127.5\]'):
        tokenizer.token_ids(torch.rand(1, 3, 112, 112) * 255)
    tokenizer.train()
    assert not tokenizer.training


def test_built_from_the_registry():
    tokenizer = MODELS.build(dict(type='cae_mm.DiscreteVAETokenizer', checkpoint=None, hidden_dims=4, vocab_size=16))
    assert tokenizer.token_ids(normalised_images(batch=1, side=64)).shape == (1, 64)
