"""Tests for tools/data/labelled_demo_datasets.py: real labelled images as class folders for CustomDataset."""

import numpy as np
import pytest
from PIL import Image

from tools.data.labelled_demo_datasets import load_source_images, prepare_labelled_dataset, stratified_split


def test_digits_split_is_stratified_and_complete(digits):
    """Every one of the 1,797 digits is written once; each class puts a quarter of its images in val."""
    _, labels, _ = load_source_images('digits')
    seen = {}
    for split in ('train', 'val'):
        for path in (digits / split).rglob('*.png'):
            seen[int(path.stem)] = (split, int(path.parent.name))
    assert sorted(seen) == list(range(1797))
    for index, (_, folder_label) in seen.items():
        assert folder_label == labels[index]
    for label in range(10):
        members = [split for index, (split, folder_label) in seen.items() if folder_label == label]
        assert abs(members.count('val') - 0.25 * len(members)) <= 0.5


def test_written_images_are_the_upscaled_digits(digits):
    """A written 32 px image averaged over 4x4 blocks is close to the original 8x8 digit (same strokes)."""
    images, _, _ = load_source_images('digits')
    path = next((digits / 'train' / '7').glob('*.png'))
    written = np.asarray(Image.open(path), dtype=np.float64)
    assert written.shape == (32, 32)
    blocks = written.reshape(8, 4, 8, 4).mean(axis=(1, 3))
    original = images[int(path.stem)].astype(np.float64)
    assert np.corrcoef(blocks.ravel(), original.ravel())[0, 1] > 0.9


def test_custom_dataset_reads_the_labels_from_the_folders(digits):
    """mmpretrain's CustomDataset finds the 10 classes and the right label for each file."""
    from mmpretrain.datasets import CustomDataset

    _, labels, _ = load_source_images('digits')
    dataset = CustomDataset(data_root=str(digits), data_prefix='val', pipeline=[])
    assert dataset.metainfo['classes'] == tuple(str(digit) for digit in range(10))
    assert len(dataset) == 450
    for info in dataset.data_list[::37]:
        index = int(info['img_path'].rsplit('/', 1)[1].split('.')[0])
        assert info['gt_label'] == labels[index]


def test_faces_and_idempotence(tmp_path):
    """The face/non-face crops give 150 + 50 images in two classes; a second call rewrites nothing."""
    root = prepare_labelled_dataset('faces', tmp_path)
    assert sorted(p.name for p in (root / 'train').iterdir()) == ['face', 'non_face']
    assert len(list((root / 'train').rglob('*.png'))) == 150 and len(list((root / 'val').rglob('*.png'))) == 50
    stamps = {path: path.stat().st_mtime_ns for path in root.rglob('*.png')}
    prepare_labelled_dataset('faces', tmp_path)
    assert {path: path.stat().st_mtime_ns for path in root.rglob('*.png')} == stamps


def test_bad_arguments_are_errors(tmp_path):
    """An unknown set or a val share outside (0, 1) raises ValueError."""
    with pytest.raises(ValueError, match="unknown labelled dataset 'mnist'"):
        prepare_labelled_dataset('mnist', tmp_path)
    with pytest.raises(ValueError, match=r'val_fraction must be in \(0, 1\)'):
        stratified_split(np.zeros(4, dtype=int), 1.0, seed=0)
