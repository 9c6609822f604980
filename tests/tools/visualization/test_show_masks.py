"""tools/visualization/show_masks.py on the tiny config and the bundled photographs."""

import numpy as np
import pytest

from cae_mm.checkpoints import CheckpointWriteError
from cae_mm.visualization.pictures import GAP, TITLE_HEIGHT, grid_shape
from tests.conftest import TEST_CONFIG
from tests.tools.visualization.conftest import read_png, tool


def panel(picture: np.ndarray, row: int, column: int, size: int) -> np.ndarray:
    top, left = TITLE_HEIGHT + GAP + row * (size + GAP), GAP + column * (size + GAP)
    return picture[top : top + size, left : left + size]


def test_every_mask_covers_exactly_the_configured_count(tmp_path, demo_data_root):
    """Two images, three masks each: a 2x4 grid of 64 px panels; each mask tints exactly 32 of the 64 patches."""
    output = tool('show_masks').main(
        [
            str(TEST_CONFIG),
            str(demo_data_root / 'images'),
            '--max-images',
            '2',
            '--num-masks',
            '3',
            '--scale',
            '1',
            '--output',
            str(tmp_path / 'masks.png'),
        ]
    )
    picture = read_png(output)
    assert picture.shape == (*grid_shape(2, 4, 64, 64), 3)
    for row in range(2):
        original = panel(picture, row, 0, 64).astype(int)
        for column in range(1, 4):
            changed = (panel(picture, row, column, 64).astype(int) != original).any(axis=-1)  # (64, 64)
            changed_patches = changed.reshape(8, 8, 8, 8).any(axis=(1, 3))  # (8, 8)
            assert changed_patches.sum() == 32


def test_the_seed_fixes_the_masks(tmp_path, demo_data_root):
    arguments = [str(TEST_CONFIG), str(demo_data_root / 'images'), '--max-images', '1']
    first = read_png(tool('show_masks').main([*arguments, '--output', str(tmp_path / 'a.png')]))
    again = read_png(tool('show_masks').main([*arguments, '--output', str(tmp_path / 'b.png')]))
    other = read_png(tool('show_masks').main([*arguments, '--seed', '1', '--output', str(tmp_path / 'c.png')]))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_an_existing_picture_is_replaced_only_with_force(demo_data_root, tmp_path):
    output = tmp_path / 'masks.png'
    output.write_bytes(b'a picture the user keeps')
    arguments = [str(TEST_CONFIG), str(demo_data_root / 'images'), '--max-images', '1', '--output', str(output)]
    with pytest.raises(CheckpointWriteError, match='exists: pass --force'):
        tool('show_masks').main(arguments)
    assert output.read_bytes() == b'a picture the user keeps'
    assert read_png(tool('show_masks').main([*arguments, '--force'])).ndim == 3
