"""The encoder's relative position bias option (fine-tuning): default off, zero start, per block, checked grid."""

import pytest
import torch

from cae_mm.models.backbones import CAEVisionTransformer


def encoder(**kwargs) -> CAEVisionTransformer:
    torch.manual_seed(0)
    return CAEVisionTransformer(arch='test', patch_size=8, **kwargs)


def test_off_by_default_with_unchanged_parameter_names():
    """Without the option there is no bias parameter; with it only the tables are added."""
    plain = encoder()
    with_bias = encoder(relative_position_bias_grid=(4, 4))
    assert not any('relative_position' in name for name, _ in plain.named_parameters())
    added = set(dict(with_bias.named_parameters())) - set(dict(plain.named_parameters()))
    assert added == {'relative_position_bias.0.table', 'relative_position_bias.1.table'}
    assert with_bias.relative_position_bias[0].table.shape == (7 * 7 + 3, 4)


def test_zero_initialised_bias_changes_nothing_until_trained():
    """At initialisation the output equals the encoder without bias; a non-zero table changes it."""
    images = torch.randn(2, 3, 32, 32)
    plain = encoder().eval()
    with_bias = encoder(relative_position_bias_grid=(4, 4)).eval()
    torch.testing.assert_close(with_bias(images)[0], plain(images)[0])
    with torch.no_grad():
        with_bias.relative_position_bias[1].table.normal_()
    assert (with_bias(images)[0] - plain(images)[0]).abs().max() > 1e-3


@pytest.mark.parametrize('with_checkpoint', [False, True])
def test_gradients_reach_every_table(with_checkpoint):
    """Training updates each block's own table, also with activation checkpointing."""
    model = encoder(relative_position_bias_grid=(4, 4), out_type='avg_featmap', with_checkpoint=with_checkpoint)
    model.train()
    model(torch.randn(2, 3, 32, 32))[0].square().sum().backward()
    for bias in model.relative_position_bias:
        assert bias.table.grad is not None and bias.table.grad.abs().sum() > 0


def test_other_grid_masks_and_windows_are_errors():
    """Another image size, masked input, or window attention with the bias raise ValueError naming the problem."""
    model = encoder(relative_position_bias_grid=(4, 4))
    with pytest.raises(ValueError, match='4x4 patch grid but the images give 5x5'):
        model(torch.randn(1, 3, 40, 40))
    with pytest.raises(ValueError, match='cannot run on masked inputs'):
        model.forward_encoder(torch.randn(1, 3, 32, 32), torch.zeros(1, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='cannot be combined with window_size'):
        encoder(relative_position_bias_grid=(4, 4), window_size=2)


def test_layer_depth_and_freezing_follow_the_block():
    """Block i's table is layer i + 1 for lr decay, and frozen with block i."""
    model = encoder(relative_position_bias_grid=(4, 4), frozen_stages=1)
    assert model.get_layer_depth('backbone.relative_position_bias.0.table', 'backbone.') == (1, 4)
    assert model.get_layer_depth('backbone.relative_position_bias.1.table', 'backbone.') == (2, 4)
    assert not model.relative_position_bias[0].table.requires_grad
    assert model.relative_position_bias[1].table.requires_grad
