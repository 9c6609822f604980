import pytest
import torch

from cae_mm.models.layers import build_2d_sincos_position_embedding, gather_tokens, mask_to_indices
from cae_mm.models.necks import LatentContextRegressor


def random_mask(batch: int, rows: int, cols: int, count: int) -> torch.Tensor:
    mask = torch.zeros(batch, rows * cols, dtype=torch.bool)
    for row in range(batch):
        mask[row, torch.randperm(rows * cols)[:count]] = True
    return mask.reshape(batch, rows, cols)


@pytest.mark.parametrize('in_dims', [32, 48])
def test_visible_latents_are_never_updated(in_dims):
    """Every block receives the same (projected) visible latents at the front of its context; only queries change."""
    regressor = LatentContextRegressor(embed_dims=32, in_dims=in_dims, depth=3, num_heads=4).eval()
    mask = random_mask(2, 4, 4, 6)
    visible = torch.randn(2, 10, in_dims)
    contexts, queries = [], []

    def record(module, args):
        queries.append(args[0])
        contexts.append(args[1])

    for block in regressor.blocks:
        block.register_forward_pre_hook(record)
    prediction = regressor(visible, mask)
    projected = regressor.project(visible)
    assert prediction.shape == (2, 6, 32)
    assert projected.shape == (2, 10, 32)
    for block_index, context in enumerate(contexts):
        assert torch.equal(context[:, :10], projected)
        assert torch.equal(context[:, 10:], queries[block_index])
    assert torch.equal(queries[0], regressor.mask_token.expand(2, 6, 32))
    assert not torch.equal(queries[1], queries[0])


def test_positions_follow_the_mask():
    """Queries get the masked patches' sin-cos positions; keys get visible then masked positions."""
    regressor = LatentContextRegressor(embed_dims=32, depth=1, num_heads=4).eval()
    mask = random_mask(2, 4, 4, 5)
    seen = {}
    regressor.blocks[0].register_forward_pre_hook(
        lambda module, args: seen.update(query_pos=args[2], context_pos=args[3])
    )
    regressor(torch.randn(2, 11, 32), mask)
    table = build_2d_sincos_position_embedding((4, 4), 32, with_cls_token=False)
    visible_index, masked_index = mask_to_indices(mask.flatten(1))
    assert torch.equal(seen['query_pos'], gather_tokens(table, masked_index))
    assert torch.equal(seen['context_pos'], torch.cat([gather_tokens(table, visible_index), seen['query_pos']], 1))


def test_visible_count_must_match_the_mask():
    """Latents for 9 visible patches with a mask that keeps 11 are refused."""
    regressor = LatentContextRegressor(embed_dims=32, depth=1, num_heads=4)
    with pytest.raises(ValueError, match='keeps 11 patches but 9'):
        regressor(torch.randn(2, 9, 32), random_mask(2, 4, 4, 5))


def test_no_projection_at_equal_width_and_tokens_without_decay():
    """Equal widths use no projection parameters; the mask token is excluded from weight decay."""
    regressor = LatentContextRegressor(embed_dims=32, in_dims=32, depth=1, num_heads=4)
    assert not any(name.startswith('projection') for name, _ in regressor.named_parameters())
    assert regressor.no_weight_decay() == {'mask_token'}
