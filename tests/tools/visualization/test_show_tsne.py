"""tools/visualization/show_tsne.py on rendered ADE20K-format scenes."""

import numpy as np
import pytest

from tools.data.rendered_scenes import write_ade20k_scenes
from tests.conftest import TEST_CONFIG
from tests.tools.visualization.conftest import read_png, tool


def test_patch_labels_take_the_majority():
    labels = np.zeros((1, 4, 4), dtype=np.uint8)
    labels[0, :2, :2] = [[3, 3], [3, 1]]  # top-left patch: three 3s
    labels[0, 2:, 2:] = 7
    np.testing.assert_array_equal(tool('show_tsne').patch_labels(labels, 2), [[3, 0, 0, 7]])


def test_scatter_picture(tmp_path, backbone_checkpoint):
    """Four 64 px scenes (8x8 patches each, labels 1-4): a square picture of FIGURE_INCHES * FIGURE_DPI pixels."""
    root = write_ade20k_scenes(tmp_path / 'ade', 'validation', 4, image_size=(64, 64))
    show_tsne = tool('show_tsne')
    output = show_tsne.main(
        [
            str(TEST_CONFIG),
            str(backbone_checkpoint),
            str(root / 'images' / 'validation'),
            '--labels',
            str(root / 'annotations' / 'validation'),
            '--class-names',
            'background',
            'square',
            'disc',
            'triangle',
            '--iterations',
            '250',
            '--output',
            str(tmp_path / 'tsne.png'),
        ]
    )
    side = show_tsne.FIGURE_INCHES * show_tsne.FIGURE_DPI
    assert read_png(output).shape == (side, side, 3)


def test_an_image_without_labels_is_named(tmp_path, backbone_checkpoint):
    root = write_ade20k_scenes(tmp_path / 'ade', 'validation', 1, image_size=(64, 64))
    (label_file,) = (root / 'annotations' / 'validation').glob('*.png')
    label_file.unlink()
    with pytest.raises(FileNotFoundError, match='no label map'):
        tool('show_tsne').main(
            [
                str(TEST_CONFIG),
                str(backbone_checkpoint),
                str(root / 'images' / 'validation'),
                '--labels',
                str(root / 'annotations' / 'validation'),
            ]
        )
