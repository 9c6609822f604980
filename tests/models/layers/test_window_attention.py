"""Window attention (ViTDet): patches attend within their window plus cls, cls attends globally; no new parameters."""

import pytest
import torch
import torch.nn.functional as F

from cae_mm.models.backbones import CAEVisionTransformer
from cae_mm.models.layers import SelfAttention, TransformerBlock
from cae_mm.models.layers.attention import grid_to_windows, windows_to_grid


def allowed_pairs(grid_size, window_size):
    """(1 + h*w, 1 + h*w) bool: which query may attend to which key, written out token by token."""
    rows, cols = grid_size
    window_of = [(row // window_size, col // window_size) for row in range(rows) for col in range(cols)]
    tokens = 1 + rows * cols
    allowed = torch.zeros(tokens, tokens, dtype=torch.bool)
    allowed[0, :] = True  # cls sees everything
    allowed[:, 0] = True  # everything sees cls
    for query in range(rows * cols):
        for key in range(rows * cols):
            allowed[1 + query, 1 + key] = window_of[query] == window_of[key]
    return allowed


def masked_global_attention(attention, x, allowed):
    """The same module's projections, attention restricted by an explicit (N, N) mask."""
    query, key, value = F.linear(x, attention.qkv.weight, attention.qkv_bias()).chunk(3, dim=-1)
    heads = attention.num_heads
    split = lambda t: t.reshape(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)  # noqa: E731
    attended = F.scaled_dot_product_attention(split(query), split(key), split(value), attn_mask=allowed)
    return attention.proj(attended.transpose(1, 2).reshape(x.shape))


@pytest.mark.parametrize('grid_size,window_size', [((4, 6), 2), ((5, 7), 3), ((3, 3), 4)])
def test_window_attention_equals_attention_masked_to_windows(grid_size, window_size):
    """Every grid (exact multiple, padded, smaller than a window) matches attention masked to windows + cls."""
    attention = SelfAttention(32, 4, window_size=window_size).eval()
    torch.nn.init.normal_(attention.q_bias)
    torch.nn.init.normal_(attention.v_bias)
    x = torch.randn(2, 1 + grid_size[0] * grid_size[1], 32)
    expected = masked_global_attention(attention, x, allowed_pairs(grid_size, window_size))
    torch.testing.assert_close(attention(x, grid_size), expected, rtol=1e-5, atol=1e-5)


def test_one_window_covering_the_grid_is_global_attention():
    """Window >= grid with no padding: the same numbers as global attention with the same weights."""
    global_attention = SelfAttention(32, 4).eval()
    window_attention = SelfAttention(32, 4, window_size=4).eval()
    window_attention.load_state_dict(global_attention.state_dict())
    x = torch.randn(2, 1 + 16, 32)
    torch.testing.assert_close(window_attention(x, (4, 4)), global_attention(x), rtol=1e-5, atol=1e-6)


def test_a_patch_outside_the_window_does_not_reach_it():
    """Changing a patch in the bottom-right window changes neither top-left window output; cls output changes."""
    attention = SelfAttention(32, 4, window_size=2).eval()
    x = torch.randn(1, 1 + 16, 32)
    changed = x.clone()
    changed[0, 1 + 15] += 1.0  # patch (3, 3)
    before, after = attention(x, (4, 4)), attention(changed, (4, 4))
    top_left = [1 + 0, 1 + 1, 1 + 4, 1 + 5]
    torch.testing.assert_close(after[0, top_left], before[0, top_left])
    assert not torch.allclose(after[0, 0], before[0, 0])


def test_windows_round_trip_and_pad_with_zeros():
    patches = torch.randn(2, 5 * 7, 8)
    windows = grid_to_windows(patches, (5, 7), 3)
    assert windows.shape == (2 * 2 * 3, 9, 8)
    torch.testing.assert_close(windows_to_grid(windows, (5, 7), 3), patches, rtol=0, atol=0)
    # window (row 1, col 2) of image 0 covers rows 3..5, cols 6..8: only (3, 6) and (4, 6) are real
    last = windows[5].reshape(3, 3, 8)
    torch.testing.assert_close(last[0, 0], patches[0, 3 * 7 + 6])
    assert torch.count_nonzero(last[2]) == 0 and torch.count_nonzero(last[:, 1:]) == 0


def test_window_attention_needs_the_grid_and_a_full_grid_of_tokens():
    attention = SelfAttention(32, 4, window_size=2)
    with pytest.raises(ValueError, match='grid_size'):
        attention(torch.randn(1, 17, 32))
    with pytest.raises(ValueError, match='expects cls \\+ 4x4 patches'):
        attention(torch.randn(1, 10, 32), (4, 4))
    with pytest.raises(ValueError, match='window_size must be >= 0'):
        SelfAttention(32, 4, window_size=-1)


def test_block_passes_the_grid_to_its_attention():
    block = TransformerBlock(32, 4, window_size=2).eval()
    x = torch.randn(1, 1 + 4 * 6, 32)
    assert block(x, (4, 6)).shape == x.shape


def test_backbone_windows_all_blocks_but_the_global_ones():
    backbone = CAEVisionTransformer(
        arch=dict(embed_dims=32, num_layers=4, num_heads=4),
        patch_size=8,
        window_size=2,
        global_attention_indices=(1, -1),
    )
    assert [block.attn.window_size for block in backbone.layers] == [2, 0, 2, 0]


def test_backbone_with_windows_has_the_same_parameters_and_runs_on_non_square_grids():
    """A global-attention checkpoint loads unchanged; a 40x72 image (5x9 patches, padded windows) gives 5x9 maps."""
    plain = CAEVisionTransformer(arch='test', patch_size=8, out_type='featmap')
    windowed = CAEVisionTransformer(
        arch='test', patch_size=8, out_type='featmap', window_size=2, global_attention_indices=(1,)
    )
    windowed.load_state_dict(plain.state_dict())
    (featmap,) = windowed(torch.randn(2, 3, 40, 72))
    assert featmap.shape == (2, 64, 5, 9)
    assert torch.isfinite(featmap).all()


def test_backbone_window_options_are_checked():
    with pytest.raises(ValueError, match='global_attention_indices entry 2 is out of range'):
        CAEVisionTransformer(arch='test', window_size=2, global_attention_indices=(2,))
    with pytest.raises(ValueError, match='only apply with window attention'):
        CAEVisionTransformer(arch='test', global_attention_indices=(1,))
    backbone = CAEVisionTransformer(arch='test', patch_size=8, window_size=2)
    with pytest.raises(ValueError, match='cannot run on masked inputs'):
        backbone.forward_encoder(torch.randn(1, 3, 32, 32), torch.zeros(1, 4, 4, dtype=torch.bool))


def test_activation_checkpointing_with_windows_gives_the_same_gradients():
    kwargs = dict(arch='test', patch_size=8, out_type='featmap', window_size=2, global_attention_indices=(1,))
    plain = CAEVisionTransformer(**kwargs)
    checkpointed = CAEVisionTransformer(**kwargs, with_checkpoint=True)
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.randn(2, 3, 40, 48)
    for model in (plain, checkpointed):
        model(images)[0].square().sum().backward()
    for (name, expected), actual in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(actual.grad, expected.grad, rtol=1e-5, atol=1e-6, msg=name)
