"""tools/visualization/show_reconstruction.py on the tiny config with a checkpoint made in the test."""

import numpy as np
import pytest

from cae_mm.checkpoints import CheckpointMismatchError
from cae_mm.visualization.pictures import GAP, TITLE_HEIGHT, grid_shape
from tests.conftest import CONFIG_ROOT, TEST_CONFIG
from tests.tools.visualization.conftest import read_png, tool


def test_picture_and_psnr(tmp_path, demo_data_root, tiny_checkpoint, capsys):
    """Three images in a 3x4 grid (input, masked, regressor, full encoder) of 128 px panels; both reconstructions
    keep the input's visible patches; PSNRs are printed for both paths and the baseline."""
    output = tool('show_reconstruction').main(
        [
            str(TEST_CONFIG),
            str(tiny_checkpoint),
            str(demo_data_root / 'images'),
            '--max-images',
            '3',
            '--scale',
            '2',
            '--output',
            str(tmp_path / 'reconstruction.png'),
        ]
    )
    picture = read_png(output)
    assert picture.shape == (*grid_shape(3, 4, 128, 128), 3)
    for row in range(3):
        top = TITLE_HEIGHT + GAP + row * (128 + GAP)
        panels = [picture[top : top + 128, GAP + column * (128 + GAP) :][:, :128].astype(int) for column in range(4)]
        changed = (panels[1] != panels[0]).any(axis=-1)  # (128, 128): pixels the grey cover changed
        masked_patches = changed.reshape(8, 16, 8, 16).any(axis=(1, 3))  # (8, 8): 16 px patches at scale 2
        assert masked_patches.sum() == 32
        masked = masked_patches.repeat(16, axis=0).repeat(16, axis=1)  # (128, 128)
        for reconstruction in panels[2:]:
            assert np.array_equal(reconstruction[~masked], panels[0][~masked])
    printed = capsys.readouterr().out
    for name in ('regressor', 'full_encoder', 'patch_mean'):
        assert f'{name}: PSNR over the masked patches' in printed


def test_a_backbone_only_checkpoint_is_refused(tmp_path, demo_data_root, backbone_checkpoint):
    """Reconstruction needs the regressor and decoder: the error lists them as missing."""
    with pytest.raises(CheckpointMismatchError, match='missing keys: head\\.'):
        tool('show_reconstruction').main(
            [
                str(TEST_CONFIG),
                str(backbone_checkpoint),
                str(demo_data_root / 'images'),
                '--output',
                str(tmp_path / 'never.png'),
            ]
        )
    assert not (tmp_path / 'never.png').exists()


def test_a_tokenizer_config_is_refused_before_anything_is_built(tmp_path, demo_data_root, tiny_checkpoint):
    """The DALL-E twin needs tokenizer weights to build; the tool says it needs pixel targets instead."""
    with pytest.raises(ValueError, match='pixel-target config'):
        tool('show_reconstruction').main(
            [
                str(CONFIG_ROOT / 'cae' / 'cae_vit-test-p8_1xb4-dalle-8i_test.py'),
                str(tiny_checkpoint),
                str(demo_data_root / 'images'),
                '--output',
                str(tmp_path / 'never.png'),
            ]
        )
