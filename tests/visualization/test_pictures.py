"""Panel grids, patch shading and heat-map overlays."""

import numpy as np
import pytest
from PIL import Image

from cae_mm.visualization.pictures import (
    GAP,
    TITLE_HEIGHT,
    grid_shape,
    heatmap_overlay,
    save_png,
    shade_patches,
    tile,
    upscale,
)


def test_tile_places_every_panel():
    panels = [[np.full((4, 6, 3), 10 * (row * 3 + column), dtype=np.uint8) for column in range(3)] for row in range(2)]
    picture = tile(panels, ['a', 'b', 'c'])
    assert picture.shape == (*grid_shape(2, 3, 4, 6), 3) == (TITLE_HEIGHT + 8 + 3 * GAP, 18 + 4 * GAP, 3)
    for row in range(2):
        for column in range(3):
            top, left = TITLE_HEIGHT + GAP + row * (4 + GAP), GAP + column * (6 + GAP)
            assert (picture[top : top + 4, left : left + 6] == 10 * (row * 3 + column)).all()
    assert picture[:TITLE_HEIGHT].min() < 128  # the titles are drawn in black


def test_tile_refuses_mismatched_panels():
    with pytest.raises(ValueError, match='panels for'):
        tile([[np.zeros((4, 4, 3), dtype=np.uint8)]], ['a', 'b'])
    with pytest.raises(ValueError, match='panels must all be'):
        tile([[np.zeros((4, 4, 3), dtype=np.uint8), np.zeros((4, 5, 3), dtype=np.uint8)]], ['a', 'b'])


def test_shade_patches_changes_exactly_the_masked_patches():
    image = np.full((8, 12, 3), 200, dtype=np.uint8)
    mask = np.array([[True, False, False], [False, False, True]])
    shaded = shade_patches(image, mask, 4, opacity=1.0, colour=(0, 0, 0))
    changed = (shaded != image).any(axis=-1)  # (8, 12)
    np.testing.assert_array_equal(changed, upscale(mask, 4))
    assert (shaded[changed] == 0).all()


def test_heatmap_overlay_and_png(tmp_path):
    image = np.full((16, 16, 3), 128, dtype=np.uint8)
    heat = np.array([[0.0, 1.0], [2.0, 3.0]])
    overlay = heatmap_overlay(image, heat)
    assert overlay.shape == (16, 16, 3)
    assert not np.array_equal(overlay[:8, :8], overlay[8:, 8:])  # low and high attention get different colours
    path = save_png(overlay, tmp_path / 'sub' / 'overlay.png')
    np.testing.assert_array_equal(np.asarray(Image.open(path)), overlay)
