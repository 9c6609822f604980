"""The tokenizer's per-step cost: the value-range check runs once, and the target comes before the encoder's activations."""

from unittest import mock

import pytest
import torch
from mmpretrain.structures import DataSample

from cae_mm.models.targets import DALLETokenizer
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config
from tests.models.targets.dalle_files import random_dalle_state_dict

HIDDEN = 8


def mapped_pixels(batch: int = 2, side: int = 64) -> torch.Tensor:
    return 0.1 + 0.8 * torch.rand(batch, 3, side, side)


def test_value_range_is_checked_on_the_first_batch_only():
    """A misconfigured preprocessor fails at the first batch; later batches cost no range reduction (no GPU sync)."""
    tokenizer = DALLETokenizer(checkpoint=random_dalle_state_dict(HIDDEN), hidden_dims=HIDDEN)
    with pytest.raises(ValueError, match='expects pixels in'):
        tokenizer.token_ids(torch.randn(1, 3, 64, 64))
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, :4] = True
    with mock.patch.object(DALLETokenizer, 'check_value_range', wraps=tokenizer.check_value_range) as check:
        for _ in range(3):
            tokenizer(mapped_pixels(), mask)
    assert check.call_count == 1


def test_shape_errors_are_still_raised_after_the_first_batch():
    tokenizer = DALLETokenizer(checkpoint=random_dalle_state_dict(HIDDEN), hidden_dims=HIDDEN)
    tokenizer.token_ids(mapped_pixels())
    with pytest.raises(ValueError, match='divisible by 8'):
        tokenizer.token_ids(mapped_pixels(side=60))


def test_target_is_computed_before_the_encoder_keeps_activations():
    """The tokenizer's large feature maps come and go while no activation is held for the backward pass."""
    config = tiny_cae_config()
    config['head'].update(out_dims=8192, reconstruction_loss='cross_entropy')
    config['target_generator'] = dict(
        type='cae_mm.DALLETokenizer', checkpoint=random_dalle_state_dict(HIDDEN), hidden_dims=HIDDEN
    )
    model = MODELS.build(config)
    calls = []
    model.target_generator.register_forward_pre_hook(lambda *_: calls.append('tokenizer'))
    original = model.backbone.forward_encoder
    model.backbone.forward_encoder = lambda *args: calls.append('encoder') or original(*args)
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, :4] = True
    samples = [DataSample().set_mask(sample_mask) for sample_mask in mask]
    model.loss([torch.randn(2, 3, 64, 64), mapped_pixels()], samples)
    assert calls == ['tokenizer', 'encoder', 'encoder']
