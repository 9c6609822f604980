"""Pixel reconstruction target: the per-patch normalised pixels of the masked patches."""

from typing import Union

import torch
from mmengine.model import BaseModule

from cae_mm.registry import MODELS
from ..layers import PatchMask, as_patch_mask, gather_tokens


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Flattened patches ``(B, h*w, p*p*3)``, row-major, pixels ``(row, col, channel)`` within a patch, of ``images``
    ``(B, 3, H, W)`` with sides multiples of ``patch_size`` ``p`` (else ``ValueError``)."""
    batch, channels, height, width = images.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image size {height}x{width} is not divisible by the patch size {patch_size}')
    rows, cols = height // patch_size, width // patch_size
    patches = images.reshape(batch, channels, rows, patch_size, cols, patch_size)  # (B, c, h, p, w, p)
    patches = patches.permute(0, 2, 4, 3, 5, 1)  # (B, h, w, p, p, c)
    return patches.reshape(batch, rows * cols, patch_size * patch_size * channels)


@MODELS.register_module()
class NormalizedPixelTarget(BaseModule):
    """Pixel reconstruction targets of the masked patches.

    Args:
        patch_size: the encoder's patch size.
        normalize_per_patch: normalise each patch by its mean and unbiased std (MAE's ``norm_pix``).
        eps: added to the variance before the square root.
    """

    def __init__(self, patch_size: int = 16, normalize_per_patch: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.normalize_per_patch = normalize_per_patch
        self.eps = eps

    @torch.no_grad()
    def forward(self, images: torch.Tensor, mask: Union[torch.Tensor, PatchMask]) -> torch.Tensor:
        """Float32 targets ``(B, Nm, p*p*3)`` of the masked patches, row-major, of the model view ``images``
        ``(B, 3, H, W)`` after the data preprocessor and ``mask``, ``(B, h, w)`` bool, True = masked, or its
        :class:`PatchMask`."""
        patches = patchify(images.float(), self.patch_size)  # (B, h*w, p*p*3)
        mask, _, masked_index = as_patch_mask(mask)
        if patches.shape[1] != mask[0].numel():
            raise ValueError(f'mask covers {mask[0].numel()} patches, the images have {patches.shape[1]}')
        targets = gather_tokens(patches, masked_index)  # (B, Nm, p*p*3)
        if self.normalize_per_patch:
            mean, std = self.patch_statistics(targets)
            targets = (targets - mean) / std
        return targets

    def patch_statistics(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (unbiased, ``eps`` added to the variance) of ``(B, N, p*p*3)`` patches, each ``(B, N, 1)``."""
        return patches.mean(dim=-1, keepdim=True), (patches.var(dim=-1, keepdim=True) + self.eps).sqrt()
