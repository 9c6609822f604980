"""Images for the visualisation tools: read and centre-crop files, draw the configured masks, normalise like the model.

Tools read images the way the training pipeline does (mmcv, BGR) and run them through the model's own data
preprocessor, so the model sees exactly what it saw in training (:mod:`cae_mm.visualization.display` undoes that).
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import BaseDataPreprocessor

from cae_mm.registry import TRANSFORMS

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def list_images(paths: Sequence[Union[str, Path]], limit: Optional[int] = None) -> list[Path]:
    """Image files named directly or found (sorted by name) in the given folders.

    Args:
        paths: files and/or folders.
        limit: keep at most this many images; None keeps all.

    Raises:
        FileNotFoundError: a path that does not exist, or no image among the paths.
    """
    images: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            images.extend(sorted(file for file in path.iterdir() if file.suffix.lower() in IMAGE_SUFFIXES))
        elif path.is_file():
            images.append(path)
        else:
            raise FileNotFoundError(f'image path {path} does not exist')
    if not images:
        raise FileNotFoundError(f'no image files ({", ".join(IMAGE_SUFFIXES)}) in {[str(path) for path in paths]}')
    return images[:limit] if limit is not None else images


def center_crop(image: np.ndarray, size: int, interpolation: str = 'bicubic') -> np.ndarray:
    """Resize the shorter side to ``size`` and cut the centred ``size x size`` square.

    Args:
        image: ``(H, W)`` or ``(H, W, 3)``.
        size: output side.
        interpolation: mmcv interpolation (``'nearest'`` for label maps).

    Returns:
        ``(size, size)`` or ``(size, size, 3)``, same dtype.
    """
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_width, new_height = max(size, round(width * scale)), max(size, round(height * scale))
    resized = mmcv.imresize(image, (new_width, new_height), interpolation=interpolation)
    top, left = (new_height - size) // 2, (new_width - size) // 2
    return resized[top : top + size, left : left + size]


def read_images(paths: Sequence[Path], size: int) -> np.ndarray:
    """Read images as the training pipeline does (BGR, 3 channels) and centre-crop them.

    Returns:
        ``(B, size, size, 3)`` uint8, BGR.

    Raises:
        OSError: an unreadable image, named.
    """
    crops = []
    for path in paths:
        image = mmcv.imread(str(path), flag='color')
        if image is None:
            raise OSError(f'cannot read image {path}')
        crops.append(center_crop(image, size))
    return np.stack(crops)


def find_pipeline(cfg: Config) -> list:
    """The training pipeline of a config: the first ``pipeline`` list inside ``train_dataloader``.

    Raises:
        ValueError: the config has no training pipeline.
    """
    pending: list[Any] = [cfg.get('train_dataloader', {})]
    while pending:
        node = pending.pop(0)
        if isinstance(node, Mapping):
            if isinstance(node.get('pipeline'), list):
                return list(node['pipeline'])
            pending.extend(node.values())
    raise ValueError('the config has no train_dataloader pipeline to read the image size and mask generator from')


def image_size_from_config(cfg: Config) -> int:
    """The side of the training crops: ``size`` of cae_mm's crop, or an int ``scale`` of mmpretrain's.

    Raises:
        ValueError: no square crop size in the training pipeline.
    """
    for step in find_pipeline(cfg):
        for key in ('size', 'scale'):
            if isinstance(step.get(key), int):
                return step[key]
    raise ValueError('no crop size found in the training pipeline; pass --image-size')


def build_mask_generator(cfg: Config) -> Any:
    """Build the mask generator of the config's training pipeline (the step whose type ends in ``MaskGenerator``).

    Raises:
        ValueError: the pipeline draws no masks.
    """
    for step in find_pipeline(cfg):
        if str(step.get('type', '')).endswith('MaskGenerator'):
            return TRANSFORMS.build(step)
    raise ValueError('the training pipeline has no mask generator (a step whose type ends in MaskGenerator)')


def draw_masks(mask_generator: Any, images: np.ndarray, patch_size: int) -> torch.Tensor:
    """Draw one mask per image with the pipeline's generator (numpy's global generator: seed it first).

    Args:
        mask_generator: a transform that adds ``results['mask']``.
        images: ``(B, H, W, 3)`` crops.
        patch_size: the encoder's patch size.

    Returns:
        ``(B, H / p, W / p)`` bool, True = masked.

    Raises:
        ValueError: the generator's masks do not cover the images' patch grid.
    """
    grid = (images.shape[1] // patch_size, images.shape[2] // patch_size)
    masks = []
    for image in images:
        mask = np.asarray(mask_generator(dict(img=image))['mask'], dtype=bool)
        if mask.shape != grid:
            raise ValueError(
                f'the mask generator drew a {mask.shape} mask; {images.shape[1]}x{images.shape[2]} '
                f'images with {patch_size} px patches need {grid}: set --image-size to the size the '
                'generator was configured for'
            )
        masks.append(torch.from_numpy(mask))
    return torch.stack(masks)


def to_model_inputs(images: np.ndarray, preprocessor: BaseDataPreprocessor) -> torch.Tensor:
    """Normalise BGR crops with the model's data preprocessor.

    Args:
        images: ``(B, H, W, 3)`` uint8, BGR.
        preprocessor: the model's data preprocessor (mean, std, channel order).

    Returns:
        ``(B, 3, H, W)`` float, what the model's forward receives.
    """
    batch = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # (B, 3, H, W)
    return preprocessor(dict(inputs=batch, data_samples=None), False)['inputs']
