import unittest.mock

import torch

from cae_mm.models.layers import CrossAttention, SelfAttention
from cae_mm.models.layers import attention as attention_module


def reference_attention(query, key, value, heads):
    """Softmax attention written out, as in the official CAE code."""
    batch, tokens_q, channels = query.shape
    split = lambda x: x.reshape(batch, x.shape[1], heads, channels // heads).transpose(1, 2)  # noqa: E731
    q, k, v = split(query), split(key), split(value)
    weights = ((q * (channels // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
    return (weights @ v).transpose(1, 2).reshape(batch, tokens_q, channels)


def test_self_attention_matches_explicit_softmax_and_has_no_key_bias():
    """Fused attention equals the written-out formula; the key projection gets a zero bias."""
    attention = SelfAttention(32, 4).eval()
    torch.nn.init.normal_(attention.q_bias)
    torch.nn.init.normal_(attention.v_bias)
    x = torch.randn(2, 7, 32)
    weight = attention.qkv.weight
    query = x @ weight[:32].T + attention.q_bias
    key = x @ weight[32:64].T
    value = x @ weight[64:].T + attention.v_bias
    expected = attention.proj(reference_attention(query, key, value, 4))
    torch.testing.assert_close(attention(x), expected, rtol=1e-5, atol=1e-6)
    assert torch.count_nonzero(attention.qkv_bias()[32:64]) == 0


def test_cross_attention_matches_explicit_softmax():
    """Queries attend to keys; values get their bias, keys none."""
    attention = CrossAttention(32, 4).eval()
    torch.nn.init.normal_(attention.q_bias)
    torch.nn.init.normal_(attention.v_bias)
    query, context = torch.randn(2, 3, 32), torch.randn(2, 9, 32)
    expected = attention.proj(
        reference_attention(
            attention.q(query) + attention.q_bias, attention.k(context), attention.v(context) + attention.v_bias, 4
        )
    )
    torch.testing.assert_close(attention(query, context, context), expected, rtol=1e-5, atol=1e-6)


def test_bf16_training_on_a_cpu_uses_matrix_products_with_the_same_result():
    """Training in bf16 on a CPU bypasses the fused kernel (its backward pass is slow there): outputs and input
    gradients agree with fp32's fused kernel to bf16 precision, with windows (a boolean mask) and with an additive
    relative position bias. Without gradients the fused kernel stays."""
    torch.manual_seed(0)
    cases = [
        (SelfAttention(32, 4, window_size=2), torch.randn(2, 1 + 9, 32), dict(grid_size=(3, 3))),  # padded windows
        (SelfAttention(32, 4), torch.randn(2, 10, 32), dict(attention_bias=torch.randn(4, 10, 10))),
    ]
    explicit = attention_module._explicit_attention
    for attention, tokens, kwargs in cases:
        x, x_fp32 = tokens.clone().requires_grad_(), tokens.clone().requires_grad_()
        with unittest.mock.patch.object(attention_module, '_explicit_attention', wraps=explicit) as spy:
            with torch.autocast('cpu', dtype=torch.bfloat16):
                output = attention(x, **kwargs).float()
                assert spy.call_count >= 1
                with torch.no_grad():
                    calls = spy.call_count
                    attention(tokens, **kwargs)
                    assert spy.call_count == calls
        gradient = torch.autograd.grad(output.square().sum(), x)[0]
        expected = attention(x_fp32, **kwargs)
        expected_gradient = torch.autograd.grad(expected.square().sum(), x_fp32)[0]
        torch.testing.assert_close(output, expected, rtol=3e-2, atol=3e-2)
        torch.testing.assert_close(gradient, expected_gradient, rtol=5e-2, atol=5e-2)
