"""SelfAttention.attention_weights: the weights the fused forward uses, made explicit for visualisation."""

import pytest
import torch
import torch.nn.functional as F

from cae_mm.models.layers import SelfAttention


def attention_from_weights(attention: SelfAttention, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Apply given weights to the layer's values and projection: ``proj(weights @ V)``."""
    batch, tokens, channels = x.shape
    value = F.linear(x, attention.qkv.weight, attention.qkv_bias())[..., 2 * channels :]  # (B, N, C)
    value = value.reshape(batch, tokens, attention.num_heads, -1).transpose(1, 2)  # (B, heads, N, C / heads)
    return attention.proj((weights @ value).transpose(1, 2).reshape(batch, tokens, channels))


@pytest.mark.parametrize('with_bias', [False, True])
def test_weights_reproduce_the_forward_pass(with_bias):
    """Weighting the values with the returned weights gives forward's output; each row sums to 1."""
    attention = SelfAttention(32, 4).eval()
    torch.nn.init.normal_(attention.q_bias)
    torch.nn.init.normal_(attention.v_bias)
    x = torch.randn(2, 7, 32)
    bias = torch.randn(4, 7, 7) if with_bias else None
    weights = attention.attention_weights(x, bias)
    assert weights.shape == (2, 4, 7, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 7))
    torch.testing.assert_close(
        attention_from_weights(attention, x, weights), attention(x, attention_bias=bias), rtol=1e-5, atol=1e-6
    )


def test_window_attention_refuses():
    """Windowed layers do not attend globally, so there is no (N, N) weight matrix to return."""
    attention = SelfAttention(32, 4, window_size=2)
    with pytest.raises(ValueError, match='global attention only'):
        attention.attention_weights(torch.randn(1, 5, 32))
