"""BEiT-style block-wise patch masking with an exact mask count."""

import math
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from cae_mm.registry import TRANSFORMS
from cae_mm.utils.argument_checks import check_positive_integer


@TRANSFORMS.register_module()
class BlockwiseMaskGenerator(BaseTransform):
    """Block-wise mask with exactly ``num_masked_patches`` patches masked, drawn as the official CAE code does.

    Adds ``results['mask']``, ``(h, w)`` bool (True = masked) on the patch grid of ``results['img']`` (the first view
    if there are two). Uses numpy's global generator.

    Args:
        num_masked_patches: patches to mask (98 of 196 in the paper).
        patch_size: the encoder's patch size.
        min_patches_per_block: smallest block (16 in the paper).
        max_patches_per_block: largest block; None means ``num_masked_patches``.
        aspect_ratio_range: block aspect ratio range.
        attempts_per_block: tries to place a block before the round counts as empty.
        max_rounds: empty rounds in a row before the remainder is drawn patch by patch.
    """

    def __init__(
        self,
        num_masked_patches: int = 98,
        patch_size: int = 16,
        min_patches_per_block: int = 16,
        max_patches_per_block: Optional[int] = None,
        aspect_ratio_range: tuple[float, float] = (0.3, 1 / 0.3),
        attempts_per_block: int = 10,
        max_rounds: int = 1000,
    ) -> None:
        num_masked_patches = check_positive_integer(
            num_masked_patches,
            'BlockwiseMaskGenerator num_masked_patches',
            'patches to mask, 0 < n < patches per image: 98 of 196 in the paper',
        )
        patch_size = check_positive_integer(
            patch_size, 'BlockwiseMaskGenerator patch_size', "pixels per patch side: the encoder's patch_size"
        )
        # 0 attempts would skip every block and draw the patches uniformly: no longer block-wise masking.
        attempts_per_block = check_positive_integer(attempts_per_block, 'BlockwiseMaskGenerator attempts_per_block')
        max_patches_per_block = num_masked_patches if max_patches_per_block is None else max_patches_per_block
        if min_patches_per_block <= 0 or min_patches_per_block > max_patches_per_block:
            raise ValueError(
                f'need 0 < min_patches_per_block <= max_patches_per_block, got {min_patches_per_block} '
                f'and {max_patches_per_block}'
            )
        low, high = aspect_ratio_range
        if not 0 < low <= high:
            raise ValueError(f'aspect_ratio_range must satisfy 0 < low <= high, got {aspect_ratio_range}')
        self.num_masked_patches = num_masked_patches
        self.patch_size = patch_size
        self.min_patches_per_block = min_patches_per_block
        self.max_patches_per_block = max_patches_per_block
        self.log_aspect_ratio_range = (math.log(low), math.log(high))
        self.attempts_per_block = attempts_per_block
        self.max_rounds = max_rounds

    def _add_block(self, mask: np.ndarray, budget: int) -> int:
        """Mask one rectangle adding between 1 and ``budget`` new patches; return how many it added (0 if none fit)."""
        rows, cols = mask.shape
        low, high = sorted((self.min_patches_per_block, budget))
        for _ in range(self.attempts_per_block):
            area = np.random.uniform(low, high)
            aspect_ratio = math.exp(np.random.uniform(*self.log_aspect_ratio_range))
            height = int(round(math.sqrt(area * aspect_ratio)))
            width = int(round(math.sqrt(area / aspect_ratio)))
            if not (0 < height < rows and 0 < width < cols):
                continue
            top = np.random.randint(0, rows - height + 1)
            left = np.random.randint(0, cols - width + 1)
            block = mask[top : top + height, left : left + width]  # a view: writing to it writes the mask
            added = height * width - int(block.sum())
            if 0 < added <= budget:
                block[...] = True
                return added
        return 0

    def generate(self, grid_size: tuple[int, int]) -> np.ndarray:
        """One ``(h, w)`` bool mask of a ``grid_size`` ``(h, w)`` patch grid, exactly ``num_masked_patches`` True.

        Raises:
            ValueError: if the grid has no more patches than the mask count.
        """
        rows, cols = grid_size
        if self.num_masked_patches >= rows * cols:
            raise ValueError(
                f'cannot mask {self.num_masked_patches} patches of a {rows}x{cols} grid '
                f'({rows * cols} patches): at least one patch must stay visible'
            )
        mask = np.zeros(grid_size, dtype=bool)
        count, empty_rounds = 0, 0
        while count < self.num_masked_patches and empty_rounds < self.max_rounds:
            added = self._add_block(mask, min(self.num_masked_patches - count, self.max_patches_per_block))
            count += added
            empty_rounds = 0 if added else empty_rounds + 1
        if count < self.num_masked_patches:
            unmasked = np.flatnonzero(~mask)
            mask.flat[np.random.choice(unmasked, self.num_masked_patches - count, replace=False)] = True
        return mask

    def transform(self, results: dict) -> dict:
        """Add ``results['mask']``; ``ValueError`` if the image sides are not multiples of ``patch_size``."""
        image = results['img'][0] if isinstance(results['img'], (list, tuple)) else results['img']
        height, width = image.shape[:2]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f'image size {height}x{width} is not divisible by the patch size {self.patch_size}; '
                'put a crop/resize to a multiple of it before the mask generator'
            )
        results['mask'] = self.generate((height // self.patch_size, width // self.patch_size))
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(num_masked_patches={self.num_masked_patches}, patch_size={self.patch_size}, '
            f'min_patches_per_block={self.min_patches_per_block}, '
            f'max_patches_per_block={self.max_patches_per_block})'
        )
