"""Tests for cae_mm.datasets.transforms.TwoViewRandomResizedCrop."""

import cv2
import mmcv
import numpy as np
import pytest

from cae_mm.datasets.transforms import TwoViewRandomResizedCrop
from cae_mm.registry import TRANSFORMS


@pytest.fixture(scope='module')
def astronaut(demo_data_root):
    """A 512x512 colour photograph from the demo dataset (BGR, as mmcv reads it)."""
    return mmcv.imread(str(demo_data_root / 'images' / 'skimage_astronaut.png'))


def random_image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize('size, shape', [(224, (300, 400, 3)), (64, (50, 80, 3)), (32, (500, 120, 3))])
def test_single_view_has_the_requested_size(size, shape):
    """Without ``second_size`` the result is one ``(size, size, 3)`` uint8 image and ``img_shape`` is set."""
    results = TwoViewRandomResizedCrop(size=size)({'img': random_image(*shape[:2])})
    assert isinstance(results['img'], np.ndarray)
    assert results['img'].shape == (size, size, 3)
    assert results['img'].dtype == np.uint8
    assert tuple(results['img_shape']) == (size, size)


def test_two_views_have_the_requested_sizes():
    """With ``second_size=112`` the result is the list ``[(224, 224, 3), (112, 112, 3)]`` of uint8 images."""
    results = TwoViewRandomResizedCrop(size=224, second_size=112)({'img': random_image(300, 400)})
    assert isinstance(results['img'], list)
    assert [view.shape for view in results['img']] == [(224, 224, 3), (112, 112, 3)]
    assert all(view.dtype == np.uint8 for view in results['img'])
    assert tuple(results['img_shape']) == (224, 224)


def test_greyscale_input_keeps_two_dimensions():
    """A 2-D greyscale image gives a ``(size, size)`` view."""
    results = TwoViewRandomResizedCrop(size=48)({'img': random_image(100, 90)[..., 0]})
    assert results['img'].shape == (48, 48)


def test_built_from_the_registry_with_scoped_name():
    """``cae_mm.TwoViewRandomResizedCrop`` builds from the registry with its arguments."""
    transform = TRANSFORMS.build(dict(type='cae_mm.TwoViewRandomResizedCrop', size=32, second_size=16))
    assert isinstance(transform, TwoViewRandomResizedCrop)
    assert [view.shape for view in transform({'img': random_image(60, 70)})['img']] == [(32, 32, 3), (16, 16, 3)]


def mean_abs_difference(a, b):
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_two_views_show_the_same_region(astronaut):
    """The 224 view shrunk to 112 matches the 112 view of the same crop, and not the 112 view of another crop."""
    transform = TwoViewRandomResizedCrop(size=224, second_size=112)
    np.random.seed(0)
    view, second_view = transform({'img': astronaut.copy()})['img']
    np.random.seed(1)
    _, other_second_view = transform({'img': astronaut.copy()})['img']
    shrunk = cv2.resize(view, (112, 112), interpolation=cv2.INTER_AREA)
    same = mean_abs_difference(shrunk, second_view)
    different = mean_abs_difference(shrunk, other_second_view)
    assert same < 10
    assert different > 20
    assert different > 5 * same


def test_view_is_the_resized_crop_box(astronaut):
    """The view equals the crop box drawn from the same seed, resized to ``size``."""
    transform = TwoViewRandomResizedCrop(size=224)
    np.random.seed(5)
    top, left, crop_height, crop_width = transform.crop_box(*astronaut.shape[:2])
    expected = cv2.resize(
        astronaut[top : top + crop_height, left : left + crop_width], (224, 224), interpolation=cv2.INTER_AREA
    )
    np.random.seed(5)
    view = transform({'img': astronaut.copy()})['img']
    assert mean_abs_difference(view, expected) < 10


@pytest.mark.parametrize(
    'height, width, scale, ratio',
    [(300, 400, (0.2, 0.5), (3 / 4, 4 / 3)), (480, 360, (0.08, 0.3), (0.5, 2.0)), (256, 256, (0.1, 0.6), (1.0, 1.0))],
)
def test_crop_box_respects_scale_and_ratio(height, width, scale, ratio):
    """Over 500 draws every crop lies in the image with area fraction in ``scale`` and aspect in ``ratio``."""
    transform = TwoViewRandomResizedCrop(size=224, scale=scale, ratio=ratio)
    area = height * width
    fractions = []
    for _ in range(500):
        top, left, crop_height, crop_width = transform.crop_box(height, width)
        assert 0 <= top and top + crop_height <= height
        assert 0 <= left and left + crop_width <= width
        assert crop_height > 0 and crop_width > 0
        # each side is rounded by at most half a pixel
        assert (crop_width - 0.5) * (crop_height - 0.5) <= scale[1] * area
        assert (crop_width + 0.5) * (crop_height + 0.5) >= scale[0] * area
        assert (crop_width - 0.5) / (crop_height + 0.5) <= ratio[1]
        assert (crop_width + 0.5) / (crop_height - 0.5) >= ratio[0]
        fractions.append(crop_height * crop_width / area)
    assert min(fractions) < scale[0] + 0.1 * (scale[1] - scale[0])
    assert max(fractions) > scale[1] - 0.1 * (scale[1] - scale[0])


def test_crop_positions_vary():
    """Crop positions are drawn over the whole image, not always at the same place."""
    transform = TwoViewRandomResizedCrop(scale=(0.1, 0.1), ratio=(1.0, 1.0))
    boxes = {transform.crop_box(200, 200)[:2] for _ in range(100)}
    assert len(boxes) > 50


def test_full_scale_square_ratio_takes_the_whole_image():
    """``scale=(1, 1)`` and a square ratio on a square image crop the whole image."""
    transform = TwoViewRandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0))
    for _ in range(20):
        assert transform.crop_box(300, 300) == (0, 0, 300, 300)


@pytest.mark.parametrize('height, width, expected', [(1000, 10, (493, 0, 13, 10)), (10, 1000, (0, 493, 10, 13))])
def test_impossible_crop_falls_back_to_a_centred_crop_within_ratio(height, width, expected):
    """On a 10x1000 or 1000x10 image no random crop fits and the box is the centred crop at the nearest ratio."""
    transform = TwoViewRandomResizedCrop(ratio=(3 / 4, 4 / 3))
    for _ in range(10):
        assert transform.crop_box(height, width) == expected


def test_fallback_within_ratio_is_the_whole_image():
    """When no random crop fits but the image's own aspect is within ``ratio``, the box is the whole image."""
    transform = TwoViewRandomResizedCrop(scale=(1.0, 1.0), ratio=(0.5, 2.0))
    for _ in range(20):
        assert transform.crop_box(300, 200) == (0, 0, 300, 200)


def test_fallback_on_a_real_image_gives_the_requested_sizes():
    """A 10x1000 strip still yields views of the requested sizes."""
    results = TwoViewRandomResizedCrop(size=32, second_size=16)({'img': random_image(10, 1000)})
    assert [view.shape for view in results['img']] == [(32, 32, 3), (16, 16, 3)]


@pytest.mark.parametrize('scale', [(0.0, 1.0), (-0.1, 0.5), (0.5, 0.2), (0.5, 1.5)])
def test_invalid_scale_is_rejected(scale):
    """A scale range outside ``0 < low <= high <= 1`` raises ValueError."""
    with pytest.raises(ValueError, match=r'scale must satisfy 0 < low <= high <= 1'):
        TwoViewRandomResizedCrop(scale=scale)


@pytest.mark.parametrize('ratio', [(0.0, 1.0), (-1.0, 2.0), (4 / 3, 3 / 4)])
def test_invalid_ratio_is_rejected(ratio):
    """A ratio range outside ``0 < low <= high`` raises ValueError."""
    with pytest.raises(ValueError, match=r'ratio must satisfy 0 < low <= high'):
        TwoViewRandomResizedCrop(ratio=ratio)


@pytest.mark.parametrize(
    'option, value', [('size', 0), ('size', -224), ('size', 224.0), ('second_size', 0), ('second_size', 112.5)]
)
def test_view_size_that_is_not_a_positive_integer_is_rejected(option, value):
    """A view side of 0 or less, or a float, raises ValueError naming the option (not a crash at the first image)."""
    with pytest.raises(
        ValueError, match=rf'TwoViewRandomResizedCrop {option} must be a positive integer .*got {value}'
    ):
        TwoViewRandomResizedCrop(**{'size': 64, option: value})


@pytest.mark.parametrize('option', ['interpolation', 'second_interpolation'])
def test_unknown_interpolation_is_rejected_when_built(option):
    """A misspelt filter is an error naming the choices, not a KeyError at the first image."""
    with pytest.raises(
        ValueError, match=rf"TwoViewRandomResizedCrop {option} must be one of \['nearest', .*got 'bicubik'"
    ):
        TwoViewRandomResizedCrop(size=64, second_size=32, **{option: 'bicubik'})


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
@pytest.mark.parametrize('shape', [(64, 64, 3), (375, 500, 3), (90, 70)])
def test_views_are_mmcv_resizes_of_the_crop(backend, shape):
    """Both views are exactly mmcv.imresize of the crop box with the backend's filters: Pillow is what the official
    code computes (torchvision on PIL images), cv2 what mmpretrain's CAE pipeline computes."""
    transform = TwoViewRandomResizedCrop(size=224, second_size=112, backend=backend)
    image = random_image(*shape[:2], seed=3)[..., 0] if len(shape) == 2 else random_image(*shape[:2], seed=3)
    for seed in range(3):
        np.random.seed(seed)
        top, left, crop_height, crop_width = transform.crop_box(*image.shape[:2])
        crop = image[top : top + crop_height, left : left + crop_width]
        np.random.seed(seed)
        view, second_view = transform({'img': image.copy()})['img']
        assert np.array_equal(view, mmcv.imresize(crop, (224, 224), interpolation='bicubic', backend=backend))
        assert np.array_equal(second_view, mmcv.imresize(crop, (112, 112), interpolation='lanczos', backend=backend))


@pytest.mark.parametrize(
    'options, message',
    [
        (dict(backend='torch'), r"backend must be 'pillow' or 'cv2', got 'torch'"),
        (dict(interpolation='area'), r"interpolation must be one of \[.*\] \(pillow filters\), got 'area'"),
        (
            dict(backend='cv2', second_interpolation='box'),
            r"second_interpolation must be one of .*\(cv2 filters\), got 'box'",
        ),
    ],
)
def test_backend_and_its_filters_are_checked_when_built(options, message):
    with pytest.raises(ValueError, match=message):
        TwoViewRandomResizedCrop(size=64, second_size=32, **options)
