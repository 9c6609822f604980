import torch

from cae_mm.models.layers import CrossAttention, SelfAttention


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
