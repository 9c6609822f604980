"""One random resized crop, resized twice: the encoder's view and the tokenizer's view of the same region."""

import math
from typing import Literal, Optional, Union

import cv2
import numpy as np
from mmcv.image.geometric import cv2_interp_codes, pillow_interp_codes
from mmcv.transforms import BaseTransform
from PIL import Image

from cae_mm.registry import TRANSFORMS
from cae_mm.utils.argument_checks import check_positive_integer

Interpolation = Literal['nearest', 'bilinear', 'bicubic', 'box', 'lanczos', 'hamming', 'area']
Backend = Literal['pillow', 'cv2']
INTERPOLATIONS = {'pillow': tuple(pillow_interp_codes), 'cv2': tuple(cv2_interp_codes)}


@TRANSFORMS.register_module()
class TwoViewRandomResizedCrop(BaseTransform):
    """Inception-style random resized crop, resized to the model view and optionally to a tokenizer view.

    Args:
        size: side of the model view.
        second_size: side of the tokenizer view (112 for DALL-E): ``results['img']`` becomes ``[view, second_view]``
            of the same crop; None for one view.
        scale: crop area range, as fractions of the image.
        ratio: crop aspect-ratio range.
        interpolation: resize filter of the model view.
        second_interpolation: resize filter of the tokenizer view.
        backend: ``'pillow'`` (antialiased: the official CAE views) or ``'cv2'`` (mmpretrain's, not antialiased).
    """

    def __init__(
        self,
        size: int = 224,
        second_size: Optional[int] = None,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interpolation: Interpolation = 'bicubic',
        second_interpolation: Interpolation = 'lanczos',
        backend: Backend = 'pillow',
    ) -> None:
        if not (0 < scale[0] <= scale[1] <= 1):
            raise ValueError(f'scale must satisfy 0 < low <= high <= 1, got {scale}')
        if not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f'ratio must satisfy 0 < low <= high, got {ratio}')
        self.size = check_positive_integer(size, 'TwoViewRandomResizedCrop size', 'side of the view in pixels')
        if second_size is not None:
            second_size = check_positive_integer(
                second_size, 'TwoViewRandomResizedCrop second_size', 'side of the tokenizer view in pixels'
            )
        self.second_size = second_size
        self.scale = scale
        self.ratio = ratio
        if backend not in INTERPOLATIONS:
            raise ValueError(f"TwoViewRandomResizedCrop backend must be 'pillow' or 'cv2', got {backend!r}")
        for name, value in (('interpolation', interpolation), ('second_interpolation', second_interpolation)):
            if value not in INTERPOLATIONS[backend]:
                raise ValueError(
                    f'TwoViewRandomResizedCrop {name} must be one of {list(INTERPOLATIONS[backend])} '
                    f'({backend} filters), got {value!r}'
                )
        self.interpolation = interpolation
        self.second_interpolation = second_interpolation
        self.backend = backend

    def crop_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Draw ``(top, left, crop_height, crop_width)`` in a ``height x width`` image (centred after 10 tries)."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * np.random.uniform(*self.scale)
            aspect_ratio = math.exp(np.random.uniform(*log_ratio))
            crop_width = int(round(math.sqrt(target_area * aspect_ratio)))
            crop_height = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < crop_width <= width and 0 < crop_height <= height:
                top = np.random.randint(0, height - crop_height + 1)
                left = np.random.randint(0, width - crop_width + 1)
                return top, left, crop_height, crop_width
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            crop_width, crop_height = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            crop_height, crop_width = height, int(round(height * self.ratio[1]))
        else:
            crop_width, crop_height = width, height
        return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width

    def transform(self, results: dict) -> dict:
        """Replace ``results['img']`` (``(H, W, C)`` uint8) by the view or ``[view, second_view]``."""
        image = results['img']
        top, left, crop_height, crop_width = self.crop_box(*image.shape[:2])
        crop = image[top : top + crop_height, left : left + crop_width]
        if self.backend == 'pillow':
            crop = Image.fromarray(crop)  # once for both views
        view = self._resize(crop, self.size, self.interpolation)
        results['img_shape'] = view.shape[:2]
        if self.second_size is None:
            results['img'] = view
        else:
            results['img'] = [view, self._resize(crop, self.second_size, self.second_interpolation)]
        return results

    def _resize(self, crop: Union[np.ndarray, Image.Image], side: int, interpolation: str) -> np.ndarray:
        if self.backend == 'pillow':
            return np.array(crop.resize((side, side), pillow_interp_codes[interpolation]))
        return cv2.resize(crop, (side, side), interpolation=cv2_interp_codes[interpolation])

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(size={self.size}, second_size={self.second_size}, scale={self.scale}, '
            f'ratio={self.ratio}, interpolation={self.interpolation}, '
            f'second_interpolation={self.second_interpolation}, backend={self.backend!r})'
        )
