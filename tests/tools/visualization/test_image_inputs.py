"""Reading, cropping and normalising images for the visualisation tools, and drawing the configured masks."""

import numpy as np
import pytest
import torch
from mmpretrain.models.utils import SelfSupDataPreprocessor
from PIL import Image

from cae_mm.visualization.display import denormalize, to_display
from tools.visualization.image_inputs import (
    build_mask_generator,
    center_crop,
    draw_masks,
    image_size_from_config,
    list_images,
    read_images,
    to_model_inputs,
)
from tools.visualization.model_loading import load_config
from tests.conftest import TEST_CONFIG


def test_center_crop_keeps_the_middle():
    image = np.zeros((40, 80, 3), dtype=np.uint8)
    image[:, 20:60] = 255  # the central square
    crop = center_crop(image, 20, interpolation='nearest')
    assert crop.shape == (20, 20, 3)
    assert (crop == 255).all()


def test_list_and_read_images(tmp_path):
    for name, size in [('b.png', (30, 50)), ('a.jpg', (64, 64))]:
        Image.fromarray(np.random.randint(0, 255, (*size, 3), dtype=np.uint8)).save(tmp_path / name)
    (tmp_path / 'notes.txt').write_text('not an image')
    files = list_images([tmp_path])
    assert [path.name for path in files] == ['a.jpg', 'b.png']
    assert list_images([tmp_path], limit=1) == files[:1]
    assert read_images(files, 16).shape == (2, 16, 16, 3)


def test_missing_images_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        list_images([tmp_path / 'nowhere.png'])
    with pytest.raises(FileNotFoundError, match='no image files'):
        list_images([tmp_path])


@pytest.mark.parametrize('to_rgb', [True, False])
def test_denormalize_returns_the_rgb_pixels(to_rgb):
    """Whatever channel order the model sees, the display is the RGB image that was read as BGR."""
    preprocessor = SelfSupDataPreprocessor(mean=[10.0, 20.0, 30.0], std=[2.0, 3.0, 4.0], to_rgb=to_rgb)
    bgr = np.random.randint(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    inputs = to_model_inputs(bgr, preprocessor)
    assert inputs.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(to_display(inputs, preprocessor), bgr[..., ::-1])
    assert denormalize(inputs, preprocessor).dtype == torch.float32


def test_config_gives_the_crop_size_and_the_mask_generator():
    """The tiny config crops 64 px and masks 32 of its 8x8 patches."""
    cfg = load_config(TEST_CONFIG)
    assert image_size_from_config(cfg) == 64
    crops = np.zeros((3, 64, 64, 3), dtype=np.uint8)
    masks = draw_masks(build_mask_generator(cfg), crops, patch_size=8)
    assert masks.shape == (3, 8, 8) and masks.dtype == torch.bool
    assert masks.flatten(1).sum(1).tolist() == [32, 32, 32]


def test_masks_for_another_grid_are_refused():
    cfg = load_config(TEST_CONFIG)
    with pytest.raises(ValueError, match='need \\(4, 4\\)'):
        draw_masks(build_mask_generator(cfg), np.zeros((1, 64, 64, 3), dtype=np.uint8), patch_size=16)
