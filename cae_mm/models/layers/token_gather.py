"""Patch-mask bookkeeping. Convention everywhere in cae_mm: a bool tensor over the patch grid, row-major,
**True = masked** (hidden from the encoder, predicted by the regressor)."""

from typing import NamedTuple, Union

import torch


def mask_to_indices(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row-major ``(visible_index, masked_index)``, ``(B, Nv)`` and ``(B, Nm)``, each ascending, of a ``(B, L)`` bool
    ``mask`` (True = masked).

    Raises:
        ValueError: if the mask is not 2-D bool, or its per-sample counts differ or are 0 or ``L``.
    """
    if mask.dtype != torch.bool or mask.dim() != 2:
        raise ValueError(f'expected a (B, L) bool patch mask, got {tuple(mask.shape)} {mask.dtype}')
    counts = mask.sum(dim=1)  # (B,)
    num_masked = int(counts[0])
    if not bool((counts == num_masked).all()):
        raise ValueError(
            f'every image in a batch must mask the same number of patches, got counts '
            f'{counts.tolist()}; use one mask generator setting for the whole dataset'
        )
    num_patches = mask.shape[1]
    if not 0 < num_masked < num_patches:
        raise ValueError(
            f'masks must hide between 1 and {num_patches - 1} of the {num_patches} patches, got {num_masked}'
        )
    # A stable sort of 0/1 keys lists visible patches first, then masked ones, each in ascending position.
    order = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)  # (B, L)
    return order[:, : num_patches - num_masked], order[:, num_patches - num_masked :]


def gather_tokens(tokens: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Tokens ``(B, N, C)`` at patch ``index`` ``(B, N)`` of ``tokens`` ``(B, L, C)`` or ``(1, L, C)`` (broadcast)."""
    tokens = tokens.expand(index.shape[0], -1, -1)  # (B, L, C)
    return torch.gather(tokens, 1, index[:, :, None].expand(-1, -1, tokens.shape[-1]))  # (B, N, C)


class PatchMask(NamedTuple):
    """A checked ``mask`` ``(B, h, w)`` (True = masked) with its ascending ``visible_index`` ``(B, Nv)`` and
    ``masked_index`` ``(B, Nm)``: check once, then hand it to the encoder, regressor and decoder."""

    mask: torch.Tensor
    visible_index: torch.Tensor
    masked_index: torch.Tensor

    @classmethod
    def from_mask(cls, mask: torch.Tensor) -> 'PatchMask':
        """Check a ``(B, h, w)`` mask (see :func:`mask_to_indices`) and list its patches."""
        if mask.dim() != 3:
            raise ValueError(f'expected a (B, h, w) patch mask, got shape {tuple(mask.shape)}')
        return cls(mask, *mask_to_indices(mask.flatten(1)))

    @property
    def grid_size(self) -> tuple[int, int]:
        """The patch grid ``(h, w)``."""
        return tuple(self.mask.shape[-2:])

    def inverted(self) -> 'PatchMask':
        """The complementary mask: the masked patches become the visible ones."""
        return PatchMask(~self.mask, self.masked_index, self.visible_index)


def as_patch_mask(mask: Union[torch.Tensor, PatchMask]) -> PatchMask:
    """``mask`` itself if it is already a :class:`PatchMask`, else the checked ``PatchMask`` of a ``(B, h, w)`` mask."""
    return mask if isinstance(mask, PatchMask) else PatchMask.from_mask(mask)
