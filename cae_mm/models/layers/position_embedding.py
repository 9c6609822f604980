"""Fixed 2-D sin-cos position embeddings (CAE / MoCo v3 style)."""

import torch


def build_2d_sincos_position_embedding(
    grid_size: tuple[int, int], embed_dims: int, temperature: float = 10000.0, with_cls_token: bool = True
) -> torch.Tensor:
    """Fixed 2-D sin-cos position embedding ``(1, [1 +] rows * cols, C)`` float32, patches row-major (for a square
    grid, bit-for-bit the official CAE table): ``[sin(row·ω), cos(row·ω), sin(col·ω), cos(col·ω)]``,
    ``ω_i = temperature^(-i / (C/4))``.

    Args:
        grid_size: ``(rows, cols)`` of the patch grid.
        embed_dims: channel count ``C``; must be divisible by 4.
        temperature: frequency base.
        with_cls_token: prepend a zero row for the class token.
    """
    if embed_dims % 4 != 0:
        raise ValueError(f'2-D sin-cos position embeddings need embed_dims divisible by 4, got {embed_dims}')
    rows, cols = grid_size
    row_index, col_index = torch.meshgrid(
        torch.arange(rows, dtype=torch.float32), torch.arange(cols, dtype=torch.float32), indexing='ij'
    )
    quarter = embed_dims // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float32) / quarter)  # (C/4,)
    row_angles = row_index.flatten()[:, None] * omega[None, :]  # (rows*cols, C/4)
    col_angles = col_index.flatten()[:, None] * omega[None, :]  # (rows*cols, C/4)
    table = torch.cat([row_angles.sin(), row_angles.cos(), col_angles.sin(), col_angles.cos()], dim=1)
    if with_cls_token:
        table = torch.cat([torch.zeros(1, embed_dims), table], dim=0)
    return table[None]  # (1, [1 +] rows*cols, C)
