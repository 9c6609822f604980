"""Load an image as mmcv's ``LoadImageFromFile`` does, refusing one whose header declares too many pixels."""

import io
import warnings
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

from cae_mm.registry import TRANSFORMS
from cae_mm.utils.argument_checks import check_positive_integer

DEFAULT_MAX_PIXELS = 100_000_000  # 10000 x 10000: far above any photograph a ViT is trained on


def declared_pixel_count(data: bytes) -> Optional[int]:
    """Width x height declared by the header of the encoded file ``data``, not decoded; -1 if Pillow refuses the
    header as a decompression bomb, None if Pillow cannot read it."""
    with warnings.catch_warnings():
        # Pillow's own warning threshold is not ours: the limit is the transform's max_pixels.
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            return -1
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None
    return width * height


@TRANSFORMS.register_module()
class LoadImageWithPixelLimit(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same options and outputs), refusing an image over ``max_pixels`` before decoding.

    Args:
        max_pixels: largest width x height accepted.
        **kwargs: ``LoadImageFromFile`` options (``color_type``, ``imdecode_backend``, ``backend_args``, ``to_float32``,
            ``ignore_empty``).

    Raises:
        ValueError: a ``max_pixels`` that is not a positive integer or a ``file_client_args``; when loading, an image
            over the limit, an empty file or one that does not decode.
    """

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS, **kwargs) -> None:
        if kwargs.get('file_client_args') is not None:
            raise ValueError('LoadImageWithPixelLimit takes backend_args, not the deprecated file_client_args')
        super().__init__(**kwargs)
        self.max_pixels = check_positive_integer(
            max_pixels, 'LoadImageWithPixelLimit max_pixels', 'largest width x height of an image'
        )

    def check_pixel_count(self, data: bytes, filename: str) -> None:
        """Raise ``ValueError`` naming ``filename`` if the header of ``data`` declares over ``max_pixels`` pixels."""
        pixels = declared_pixel_count(data)
        pillow_limit = 2 * Image.MAX_IMAGE_PIXELS
        if pixels == -1 and self.max_pixels < pillow_limit:
            declared = f'more than {pillow_limit} pixels (limit: max_pixels={self.max_pixels})'
        elif pixels is not None and pixels > self.max_pixels:
            declared = f'{pixels} pixels, more than max_pixels={self.max_pixels}'
        else:
            return
        raise ValueError(
            f'{filename} declares {declared}; refused before decoding. Shrink the image, or raise max_pixels of '
            'cae_mm.LoadImageWithPixelLimit in the pipeline if it is meant to be this large'
        )

    def transform(self, results: dict) -> Optional[dict]:
        """Read ``results['img_path']``, check its pixel count, decode it (mmcv's decoding)."""
        filename = results['img_path']
        try:
            data = fileio.get(filename, backend_args=self.backend_args)
        except Exception:
            if self.ignore_empty:
                return None
            raise
        if not data:
            raise ValueError(f'{filename} is an empty file (0 bytes): remove it from the data, or write it again')
        self.check_pixel_count(data, filename)
        try:
            image = mmcv.imfrombytes(data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception:
            if self.ignore_empty:
                return None
            raise
        if image is None:  # mmcv's answer to bytes its decoder cannot read
            raise ValueError(
                f'cannot decode {filename} as an image: not an image, truncated or corrupt, or a format '
                f'the {self.imdecode_backend} decoder does not read (GIF: convert it to PNG); remove or '
                'replace the file'
            )
        if self.to_float32:
            image = image.astype(np.float32)
        results.update(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2])
        return results

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, max_pixels={self.max_pixels})'
