"""Tests for the bundled demo dataset (tools/data/demo_images.py) and its mmpretrain loading pipeline."""

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.datasets import CustomDataset
from PIL import Image

from tools.data import demo_images
from tools.data.demo_images import (
    SKIMAGE_PHOTOGRAPHS,
    SKLEARN_PHOTOGRAPHS,
    find_source_photographs,
    prepare_demo_dataset,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = REPO_ROOT / 'configs' / '_base_' / 'datasets' / 'demo_images_cae.py'
NUM_PHOTOGRAPHS = 22


def listed_names(root):
    return (root / 'meta' / 'train.txt').read_text().splitlines()


def digests(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def test_source_photographs_are_found_in_the_installed_wheels():
    """All 22 photographs are found, prefixed by their source package, at existing paths."""
    found = find_source_photographs()
    assert len(found) == len(SKIMAGE_PHOTOGRAPHS) + len(SKLEARN_PHOTOGRAPHS) == NUM_PHOTOGRAPHS
    assert all(name.startswith(('skimage_', 'sklearn_')) for name, _ in found)
    assert all(path.is_file() for _, path in found)


def test_layout_lists_22_images_one_per_line(demo_data_root):
    """``meta/train.txt`` lists 22 distinct PNG names, one per line, matching exactly the files in ``images/``."""
    text = (demo_data_root / 'meta' / 'train.txt').read_text()
    names = text.splitlines()
    assert text.endswith('\n')
    assert len(names) == NUM_PHOTOGRAPHS
    assert len(set(names)) == NUM_PHOTOGRAPHS
    assert all(re.fullmatch(r'(skimage|sklearn)_\w+\.png', name) for name in names)
    assert sorted(names) == sorted(path.name for path in (demo_data_root / 'images').iterdir())
    assert sorted(path.name for path in (demo_data_root / 'meta').iterdir()) == ['train.txt']


def test_images_are_readable_photographs(demo_data_root):
    """Every listed file is a PNG in colour or greyscale, at least 100 px on its shorter side, readable by OpenCV."""
    for name in listed_names(demo_data_root):
        path = demo_data_root / 'images' / name
        with Image.open(path) as image:
            assert image.format == 'PNG'
            assert image.mode in ('RGB', 'L')
            assert min(image.size) >= 100
            assert 'icc_profile' not in image.info
        pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert pixels is not None and pixels.dtype == np.uint8
        assert pixels.ndim == 2 or pixels.shape[2] == 3
        assert pixels.std() > 1, f'{name} looks like a flat image, not a photograph'


def test_sources_file_names_both_packages(demo_data_root):
    """``SOURCES.md`` credits scikit-image and scikit-learn."""
    sources = (demo_data_root / 'SOURCES.md').read_text()
    assert 'scikit-image' in sources and 'scikit-learn' in sources


def test_prepare_again_is_idempotent(demo_data_root):
    """Running ``prepare_demo_dataset`` again on the same root keeps the same listing and the same image bytes."""
    names_before, images_before = listed_names(demo_data_root), digests(demo_data_root / 'images')
    assert prepare_demo_dataset(demo_data_root) == demo_data_root
    assert listed_names(demo_data_root) == names_before
    assert digests(demo_data_root / 'images') == images_before
    assert sorted(path.name for path in demo_data_root.iterdir()) == ['SOURCES.md', 'images', 'meta']


def test_prepare_accepts_a_string_root(tmp_path, monkeypatch):
    """A ``str`` root works and returns a ``Path``; only the missing image is copied."""
    sources = find_source_photographs()[:2]
    monkeypatch.setattr(demo_images, 'find_source_photographs', lambda: sources)
    root = prepare_demo_dataset(str(tmp_path / 'demo'))
    assert isinstance(root, Path)
    assert listed_names(root) == [Path(name).stem + '.png' for name, _ in sources]


def test_failed_copy_leaves_no_stray_image(tmp_path, monkeypatch):
    """A PNG write that fails midway leaves no extra ``.png`` file in ``images/``."""

    def failing_save(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b'\x89PNG partial')
        raise OSError('disk full')

    monkeypatch.setattr(Image.Image, 'save', failing_save)
    with pytest.raises(OSError, match='disk full'):
        prepare_demo_dataset(tmp_path / 'demo')
    assert list((tmp_path / 'demo' / 'images').iterdir()) == []


def check_dataset(dataset, root):
    assert len(dataset) == NUM_PHOTOGRAPHS
    paths = [Path(dataset.get_data_info(index)['img_path']) for index in range(len(dataset))]
    assert all(path.is_file() for path in paths)
    assert sorted(path.name for path in paths) == sorted(listed_names(root))
    assert all('gt_label' not in dataset.get_data_info(index) for index in range(len(dataset)))


def test_custom_dataset_scans_the_image_folder(demo_data_root):
    """mmpretrain's ``CustomDataset`` pointed at ``images/`` finds the 22 photographs without labels."""
    dataset = CustomDataset(data_root=str(demo_data_root / 'images'), with_label=False, pipeline=[])
    check_dataset(dataset, demo_data_root)


def test_custom_dataset_reads_the_annotation_file(demo_data_root):
    """mmpretrain's ``CustomDataset`` reads ``meta/train.txt`` with ``data_prefix='images'``."""
    dataset = CustomDataset(
        data_root=str(demo_data_root), ann_file='meta/train.txt', data_prefix='images', with_label=False, pipeline=[]
    )
    check_dataset(dataset, demo_data_root)
    assert [Path(dataset.get_data_info(i)['img_path']).name for i in range(len(dataset))] == listed_names(
        demo_data_root
    )


def build_demo_dataset(data_root):
    from mmpretrain.registry import DATASETS

    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.train_dataloader.dataset.data_root = str(data_root)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(cfg.train_dataloader.dataset)


def test_demo_config_pipeline_gives_image_and_exact_mask(demo_data_root):
    """The demo config's dataset yields a (3, 224, 224) uint8 image and a (14, 14) mask with exactly 98 True."""
    dataset = build_demo_dataset(demo_data_root / 'images')
    assert len(dataset) == NUM_PHOTOGRAPHS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for index in (0, len(dataset) - 1):
            item = dataset[index]
            inputs, mask = item['inputs'], torch.as_tensor(item['data_samples'].mask)
            assert inputs.dtype == torch.uint8
            assert tuple(inputs.shape) == (3, 224, 224)
            assert tuple(mask.shape) == (14, 14)
            assert mask.dtype == torch.bool
            assert int(mask.sum()) == 98


def test_demo_config_handles_greyscale_images(demo_data_root):
    """A greyscale photograph (camera) comes out of the pipeline with 3 channels."""
    dataset = build_demo_dataset(demo_data_root / 'images')
    names = [Path(dataset.get_data_info(i)['img_path']).name for i in range(len(dataset))]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        item = dataset[names.index('skimage_camera.png')]
    assert tuple(item['inputs'].shape) == (3, 224, 224)


def test_empty_image_folder_gives_a_clear_error(tmp_path):
    """``CustomDataset`` on an empty folder raises RuntimeError saying no files were found."""
    empty = tmp_path / 'images'
    empty.mkdir()
    with pytest.raises(RuntimeError, match=r'Found 0 files in subfolders of.*Supported extensions are'):
        CustomDataset(data_root=str(empty), with_label=False, pipeline=[])


def test_unreadable_image_error_names_the_file(tmp_path):
    """Loading ``broken.png`` (not an image) through ``LoadImageFromFile`` raises an error naming the file."""
    folder = tmp_path / 'images'
    folder.mkdir()
    cv2.imwrite(str(folder / 'good.png'), np.full((32, 32, 3), 128, np.uint8))
    (folder / 'broken.png').write_bytes(b'not an image')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = CustomDataset(data_root=str(folder), with_label=False, pipeline=[dict(type='LoadImageFromFile')])
        names = [Path(dataset.get_data_info(i)['img_path']).name for i in range(len(dataset))]
        assert sorted(names) == ['broken.png', 'good.png']
        good = dataset[names.index('good.png')]
        assert good['img'].shape == (32, 32, 3)
        with pytest.raises(Exception, match=re.escape(str(folder / 'broken.png'))):
            dataset[names.index('broken.png')]
