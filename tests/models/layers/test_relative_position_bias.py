"""Tests for cae_mm.models.layers.relative_position_bias (BEiT's table layout, zero start)."""

import pytest
import torch

from cae_mm.models.layers import RelativePositionBias, relative_position_index


def reference_index(rows: int, cols: int) -> torch.Tensor:
    """BEiT's index, pair by pair: offsets first, then cls->patch, patch->cls, cls->cls."""
    num_offsets = (2 * rows - 1) * (2 * cols - 1)
    tokens = 1 + rows * cols
    index = torch.zeros(tokens, tokens, dtype=torch.long)
    for query in range(tokens):
        for key in range(tokens):
            if query == 0 and key == 0:
                index[query, key] = num_offsets + 2
            elif query == 0:
                index[query, key] = num_offsets
            elif key == 0:
                index[query, key] = num_offsets + 1
            else:
                (query_row, query_col), (key_row, key_col) = divmod(query - 1, cols), divmod(key - 1, cols)
                index[query, key] = (query_row - key_row + rows - 1) * (2 * cols - 1) + (query_col - key_col + cols - 1)
    return index


@pytest.mark.parametrize('grid', [(1, 1), (3, 3), (2, 4), (4, 3)])
def test_index_matches_pairwise_reference(grid):
    """Every (query, key) pair reads BEiT's row, for square and non-square grids."""
    assert torch.equal(relative_position_index(grid), reference_index(*grid))


def test_equal_offsets_share_a_row_and_every_row_is_used():
    """Pairs with the same offset read the same row; all (2h-1)(2w-1) + 3 rows are used."""
    index = relative_position_index((3, 4))
    assert index[1 + 0, 1 + 1] == index[1 + 5, 1 + 6]  # both one column to the left
    assert index[1 + 0, 1 + 1] != index[1 + 0, 1 + 4]  # one column vs one row
    assert torch.equal(index.unique(), torch.arange(5 * 7 + 3))


def test_bias_starts_at_zero_and_reads_the_table():
    """The table starts at zero; the bias is the table gathered by the index, heads first."""
    bias_module = RelativePositionBias((2, 3), num_heads=4)
    assert bias_module.table.shape == (3 * 5 + 3, 4)
    assert torch.count_nonzero(bias_module()) == 0
    with torch.no_grad():
        bias_module.table.copy_(torch.randn_like(bias_module.table))
    bias = bias_module()
    assert bias.shape == (4, 7, 7)
    index = reference_index(2, 3)
    for head in range(4):
        torch.testing.assert_close(bias[head], bias_module.table[:, head][index])


def test_index_is_not_saved_and_gradients_reach_the_table():
    """Only the table is state; a loss on the bias trains it."""
    bias_module = RelativePositionBias((2, 2), num_heads=2)
    assert list(bias_module.state_dict()) == ['table']
    bias_module().sum().backward()
    assert bias_module.table.grad is not None and bias_module.table.grad.abs().sum() > 0


def test_empty_grid_is_an_error():
    """A grid without patches is refused at construction."""
    with pytest.raises(ValueError, match='positive patch grid'):
        RelativePositionBias((0, 3), num_heads=2)
