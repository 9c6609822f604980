"""Drawing helpers for the visualisation tools: panel grids with titles, patch shading, heat-map overlays, PNGs."""

from collections.abc import Sequence
from pathlib import Path
from typing import Union

import matplotlib
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from cae_mm.checkpoints import atomic_open

TITLE_HEIGHT = 14
GAP = 2
WHITE = 255
SMALLEST_PANEL = 128


def grid_shape(rows: int, columns: int, panel_height: int, panel_width: int) -> tuple[int, int]:
    """``(height, width)`` in pixels of a :func:`tile` picture: a title strip, then panels with ``GAP`` around each."""
    return TITLE_HEIGHT + rows * panel_height + (rows + 1) * GAP, columns * panel_width + (columns + 1) * GAP


def _title_strip(title: str, width: int) -> np.ndarray:
    strip = Image.new('RGB', (width, TITLE_HEIGHT), (WHITE, WHITE, WHITE))
    ImageDraw.Draw(strip).text((1, 1), title, fill=(0, 0, 0), font=ImageFont.load_default())
    return np.asarray(strip)


def tile(rows: Sequence[Sequence[np.ndarray]], titles: Sequence[str]) -> np.ndarray:
    """``(*grid_shape(R, C, H, W), 3)`` uint8: ``rows[r][c]``, equal ``(H, W, 3)`` uint8 panels, under the column
    ``titles`` (one panel per title in every row).

    Raises:
        ValueError: no panels, a row of the wrong length, or panels of different shapes.
    """
    if not rows:
        raise ValueError('nothing to draw: no rows of panels')
    panel_height, panel_width = rows[0][0].shape[:2]
    for row in rows:
        if len(row) != len(titles):
            raise ValueError(f'a row has {len(row)} panels for {len(titles)} titles')
        for panel in row:
            if panel.shape != (panel_height, panel_width, 3):
                raise ValueError(f'panels must all be ({panel_height}, {panel_width}, 3), got {panel.shape}')
    height, width = grid_shape(len(rows), len(titles), panel_height, panel_width)
    picture = np.full((height, width, 3), WHITE, dtype=np.uint8)
    for column, title in enumerate(titles):
        left = GAP + column * (panel_width + GAP)
        picture[:TITLE_HEIGHT, left : left + panel_width] = _title_strip(title, panel_width)
        for row_index, row in enumerate(rows):
            top = TITLE_HEIGHT + GAP + row_index * (panel_height + GAP)
            picture[top : top + panel_height, left : left + panel_width] = row[column]
    return picture


def default_scale(image_size: int) -> int:
    """The integer enlargement that shows ``image_size`` px panels about :data:`SMALLEST_PANEL` px wide or more."""
    return max(1, round(SMALLEST_PANEL / image_size))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Enlarge ``(H, W, ...)`` by an integer factor, each pixel becoming a ``factor x factor`` block."""
    if factor < 1:
        raise ValueError(f'the scale factor must be a positive integer, got {factor}')
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def shade_patches(
    image: np.ndarray,
    mask: Union[np.ndarray, torch.Tensor],
    patch_size: int,
    opacity: float = 0.7,
    colour: tuple[int, int, int] = (128, 128, 128),
) -> np.ndarray:
    """Cover the masked patches of ``image`` with a translucent colour; returns ``(H, W, 3)`` uint8.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        mask: ``(H / p, W / p)`` bool, True = masked.
        patch_size: patch side ``p`` in pixels.
        opacity: 0 leaves the image, 1 paints the patches over.
        colour: RGB of the cover.
    """
    covered = upscale(np.asarray(mask, dtype=bool), patch_size)  # (H, W)
    shaded = image.astype(np.float32)
    shaded[covered] = (1 - opacity) * shaded[covered] + opacity * np.asarray(colour, dtype=np.float32)
    return shaded.round().astype(np.uint8)


def heatmap_overlay(
    image: np.ndarray, heat: np.ndarray, opacity: float = 0.6, colour_map: str = 'inferno'
) -> np.ndarray:
    """Blend ``heat``, stretched to ``[0, 1]`` and enlarged, over ``image``; returns ``(H, W, 3)`` uint8.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        heat: ``(h, w)`` non-negative values on a grid that divides the image.
        opacity: weight of the heat map's colours.
        colour_map: a matplotlib colour map name.
    """
    span = heat.max() - heat.min()
    normalised = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    factor = image.shape[0] // heat.shape[0]
    colours = matplotlib.colormaps[colour_map](upscale(normalised, factor))[..., :3] * 255  # (H, W, 3)
    blended = (1 - opacity) * image.astype(np.float32) + opacity * colours
    return blended.round().astype(np.uint8)


def save_png(picture: np.ndarray, path: Union[str, Path]) -> Path:
    """Write an ``(H, W, 3)`` uint8 RGB picture as PNG atomically, creating the folder; return the path."""
    path = Path(path)
    with atomic_open(path, 'wb') as file:
        Image.fromarray(picture).save(file, format='PNG')
    return path
