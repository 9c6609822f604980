"""Tests for cae_mm.LoadImageWithPixelLimit: mmcv's loading, with images over a pixel count refused before decoding."""

import io
import struct
import zlib
from pathlib import Path

import mmcv
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from cae_mm.datasets.transforms import LoadImageWithPixelLimit
from cae_mm.registry import TRANSFORMS


def png_declaring(width: int, height: int) -> bytes:
    """An 8x8 PNG whose header (IHDR, with a valid CRC) claims ``width x height``: what a decompression bomb shows."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, 'PNG')
    data = bytearray(buffer.getvalue())
    header = struct.pack('>II', width, height) + bytes(data[24:29])  # size, then depth, colour, methods
    data[16:29] = header
    data[29:33] = struct.pack('>I', zlib.crc32(b'IHDR' + header))
    return bytes(data)


def photo_file(folder: Path, height: int = 96, width: int = 128) -> Path:
    rows, columns = np.mgrid[0:height, 0:width]
    pixels = np.stack([rows % 256, columns % 256, (rows + columns) % 256], -1).astype(np.uint8)
    path = folder / 'photo.png'
    Image.fromarray(pixels).save(path)
    return path


def refuse_decoding(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError('the image was decoded')

    monkeypatch.setattr(mmcv, 'imfrombytes', fail)


@pytest.mark.parametrize(
    'width, height, declared', [(20000, 20000, 'more than 178956970'), (12000, 12000, '144000000')]
)
def test_a_small_file_declaring_too_many_pixels_is_refused_without_decoding(
    width, height, declared, tmp_path, monkeypatch
):
    """20000 x 20000 (past Pillow's own bomb limit) and 12000 x 12000 (past the default 100 million): refused."""
    path = tmp_path / 'bomb.png'
    path.write_bytes(png_declaring(width, height))
    refuse_decoding(monkeypatch)
    with pytest.raises(
        ValueError,
        match=rf'bomb\.png declares {declared} pixels.*max_pixels=100000000.*refused '
        r'before decoding',
    ):
        LoadImageWithPixelLimit()(dict(img_path=str(path)))


def test_the_limit_is_inclusive_and_configurable(tmp_path):
    path = photo_file(tmp_path)  # 96 x 128 = 12288 pixels
    assert LoadImageWithPixelLimit(max_pixels=12288)(dict(img_path=str(path)))['img'].shape == (96, 128, 3)
    with pytest.raises(ValueError, match=r'photo\.png declares 12288 pixels, more than max_pixels=12287'):
        LoadImageWithPixelLimit(max_pixels=12287)(dict(img_path=str(path)))


def test_a_limit_above_pillows_own_lets_the_decoder_decide(tmp_path, monkeypatch):
    """Pillow refuses headers over 2 * Image.MAX_IMAGE_PIXELS itself; a larger max_pixels must still let them through."""
    path = tmp_path / 'huge.png'
    path.write_bytes(png_declaring(20000, 20000))
    decoded = []
    monkeypatch.setattr(mmcv, 'imfrombytes', lambda data, **options: decoded.append(len(data)) or np.zeros((2, 2, 3)))
    LoadImageWithPixelLimit(max_pixels=10**9)(dict(img_path=str(path)))
    assert decoded == [len(png_declaring(20000, 20000))]


@pytest.mark.parametrize('options', [{}, dict(color_type='grayscale'), dict(to_float32=True)])
def test_results_equal_mmcvs_loader(options, tmp_path):
    path = photo_file(tmp_path)
    ours = LoadImageWithPixelLimit(**options)(dict(img_path=str(path)))
    theirs = LoadImageFromFile(**options)(dict(img_path=str(path)))
    assert ours.keys() == theirs.keys()
    np.testing.assert_array_equal(ours['img'], theirs['img'])
    assert ours['img'].dtype == theirs['img'].dtype
    assert ours['img_shape'] == theirs['img_shape'] == ours['ori_shape']


def test_an_empty_file_and_a_file_that_is_not_an_image_name_the_file(tmp_path):
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty\.jpg is an empty file \(0 bytes\)'):
        LoadImageWithPixelLimit()(dict(img_path=str(empty)))
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    with pytest.raises(ValueError, match=r'cannot decode .*notes\.jpg as an image'):
        LoadImageWithPixelLimit()(dict(img_path=str(text)))


def test_a_missing_file_is_an_error_or_skipped_with_ignore_empty(tmp_path):
    with pytest.raises(FileNotFoundError):
        LoadImageWithPixelLimit()(dict(img_path=str(tmp_path / 'gone.png')))
    assert LoadImageWithPixelLimit(ignore_empty=True)(dict(img_path=str(tmp_path / 'gone.png'))) is None


@pytest.mark.parametrize('max_pixels', [0, -1, 1e8])
def test_max_pixels_must_be_a_positive_integer(max_pixels):
    with pytest.raises(
        ValueError, match=rf'LoadImageWithPixelLimit max_pixels must be a positive integer .*{max_pixels}'
    ):
        LoadImageWithPixelLimit(max_pixels=max_pixels)


def test_built_from_the_registry_with_scoped_name():
    transform = TRANSFORMS.build(dict(type='cae_mm.LoadImageWithPixelLimit', max_pixels=500))
    assert isinstance(transform, LoadImageWithPixelLimit) and 'max_pixels=500' in repr(transform)
