import pytest
import torch

from cae_mm.models.layers import build_2d_sincos_position_embedding


def official_table(side: int, dims: int, temperature: float = 10000.0) -> torch.Tensor:
    """The official CAE construction (meshgrid of w then h, default 'ij' indexing), square grids only."""
    grid_w, grid_h = torch.meshgrid(
        torch.arange(side, dtype=torch.float32), torch.arange(side, dtype=torch.float32), indexing='ij'
    )
    pos_dim = dims // 4
    omega = 1.0 / temperature ** (torch.arange(pos_dim, dtype=torch.float32) / pos_dim)
    out_w = torch.einsum('m,d->md', grid_w.flatten(), omega)
    out_h = torch.einsum('m,d->md', grid_h.flatten(), omega)
    table = torch.cat([out_w.sin(), out_w.cos(), out_h.sin(), out_h.cos()], dim=1)
    return torch.cat([torch.zeros(1, dims), table])[None]


@pytest.mark.parametrize('side,dims', [(14, 768), (14, 1024), (7, 64)])
def test_square_grid_matches_official_table_exactly(side, dims):
    """On square grids the table is bit-identical to the official CAE one (cls slot included)."""
    assert torch.equal(build_2d_sincos_position_embedding((side, side), dims), official_table(side, dims))


def test_non_square_grid_first_half_encodes_row_second_half_column():
    """For any grid, the first C/2 channels depend only on the row and the last C/2 only on the column."""
    rows, cols, dims = 3, 5, 16
    table = build_2d_sincos_position_embedding((rows, cols), dims, with_cls_token=False)[0].reshape(rows, cols, dims)
    assert torch.equal(table[:, :1, : dims // 2].expand(rows, cols, dims // 2), table[..., : dims // 2])
    assert torch.equal(table[:1, :, dims // 2 :].expand(rows, cols, dims // 2), table[..., dims // 2 :])
    assert not torch.equal(table[0, 0], table[1, 0])


def test_cls_slot_is_zero_and_shapes():
    """The cls slot is zero and the table is (1, 1 + rows*cols, C)."""
    table = build_2d_sincos_position_embedding((4, 6), 32)
    assert table.shape == (1, 25, 32)
    assert torch.count_nonzero(table[0, 0]) == 0
    assert build_2d_sincos_position_embedding((4, 6), 32, with_cls_token=False).shape == (1, 24, 32)


def test_dims_not_divisible_by_four_is_an_error():
    """A width the four sin/cos quarters cannot split raises a clear error."""
    with pytest.raises(ValueError, match='divisible by 4'):
        build_2d_sincos_position_embedding((2, 2), 30)
