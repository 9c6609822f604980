"""tools/visualization/show_attention.py on the tiny config, with full and backbone-only checkpoints."""

import numpy as np

from cae_mm.visualization.pictures import grid_shape
from tests.conftest import TEST_CONFIG
from tests.tools.visualization.conftest import read_png, tool


def test_picture_has_the_mean_and_every_head(tmp_path, demo_data_root, tiny_checkpoint, backbone_checkpoint):
    """Two images: input, mean of heads and the 4 heads of the test encoder, 64 px panels; the same weights give the
    same picture whether they come from the full checkpoint or the backbone-only one."""
    pictures = []
    for checkpoint in (tiny_checkpoint, backbone_checkpoint):
        output = tool('show_attention').main(
            [
                str(TEST_CONFIG),
                str(checkpoint),
                str(demo_data_root / 'images'),
                '--max-images',
                '2',
                '--scale',
                '1',
                '--output',
                str(tmp_path / f'{checkpoint.stem}.png'),
            ]
        )
        pictures.append(read_png(output))
    assert pictures[0].shape == (*grid_shape(2, 6, 64, 64), 3)
    assert np.array_equal(pictures[0], pictures[1])
