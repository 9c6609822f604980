"""BEiT's learned relative position bias, as CAE adds it to every block for fine-tuning."""

import torch
from torch import nn


def relative_position_index(grid_size: tuple[int, int]) -> torch.Tensor:
    """Table row ``(1 + h*w, 1 + h*w)`` long (query first) read by each (query, key) pair of ``[cls; h x w patches]``
    of ``grid_size`` ``(h, w)``, in BEiT's layout so that tables load: patch offset ``(dr, dc)`` reads row
    ``(dr + h - 1) * (2w - 1) + (dc + w - 1)``; the next three rows are cls-to-patch, patch-to-cls and cls-to-cls."""
    rows, cols = grid_size
    coordinates = torch.stack(torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing='ij')).flatten(1)
    offsets = coordinates[:, :, None] - coordinates[:, None, :]  # (2, h*w, h*w): query minus key
    patch_index = (offsets[0] + rows - 1) * (2 * cols - 1) + (offsets[1] + cols - 1)  # (h*w, h*w)
    num_offsets = (2 * rows - 1) * (2 * cols - 1)
    index = torch.empty(1 + rows * cols, 1 + rows * cols, dtype=torch.long)
    index[1:, 1:] = patch_index
    index[0, :] = num_offsets  # cls query to every key
    index[:, 0] = num_offsets + 1  # every query to the cls key
    index[0, 0] = num_offsets + 2  # cls to cls
    return index


class RelativePositionBias(nn.Module):
    """Learned, zero-initialised attention-logit bias ``(num_heads, 1 + h*w, 1 + h*w)`` per relative offset of the
    patch grid ``grid_size`` ``(h, w)`` (an empty grid is a ``ValueError``)."""

    def __init__(self, grid_size: tuple[int, int], num_heads: int) -> None:
        super().__init__()
        rows, cols = grid_size
        if rows <= 0 or cols <= 0:
            raise ValueError(f'relative position bias needs a positive patch grid, got {grid_size}')
        self.grid_size = (rows, cols)
        self.table = nn.Parameter(torch.zeros((2 * rows - 1) * (2 * cols - 1) + 3, num_heads))
        self.register_buffer('index', relative_position_index(self.grid_size), persistent=False)

    def forward(self) -> torch.Tensor:
        tokens = self.index.shape[0]
        return self.table[self.index.flatten()].reshape(tokens, tokens, -1).permute(2, 0, 1)
