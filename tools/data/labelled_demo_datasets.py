"""Small real labelled image sets that ship inside installed wheels, laid out for mmpretrain's ``CustomDataset``.

Nothing is downloaded. Two sets, each split once (stratified, fixed seed) into train and val::

    <root>/train/<class name>/<index>.png
    <root>/val/<class name>/<index>.png
    <root>/SOURCES.md

* ``digits``: scikit-learn's handwritten digits (``sklearn.datasets.load_digits``: 1,797 grey 8x8 images of the
  digits 0-9 from 43 writers, 17 grey levels), upscaled bilinearly.
* ``faces``: scikit-image's ``lfw_subset`` (100 Labeled-Faces-in-the-Wild face crops and 100 non-face crops,
  grey 25x25), classes ``face`` and ``non_face``.

The class folders make ``CustomDataset(data_root=root, data_prefix='train')`` find the labels by itself; the file
name is the sample's index in the source array, so a sample can be traced back. Run
``python tools/data/labelled_demo_datasets.py [--root DIR]``.
"""

import argparse
from pathlib import Path
from typing import Literal

import numpy as np

DEFAULT_ROOT = Path('data')
DatasetName = Literal['digits', 'faces']

_SOURCES = {
    'digits': 'scikit-learn `sklearn.datasets.load_digits`, the UCI optical recognition of handwritten digits set',
    'faces': 'scikit-image `skimage.data.lfw_subset`, crops from Labeled Faces in the Wild',
}


def load_source_images(name: DatasetName) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read a labelled set from the installed scikit-learn / scikit-image wheel.

    Args:
        name: ``'digits'`` or ``'faces'``.

    Returns:
        ``(images, labels, class_names)``: uint8 grey images ``(N, h, w)``, int labels ``(N,)`` indexing
        ``class_names``.
    """
    if name == 'digits':
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)  # 17 grey levels -> 0..255
        return images, digits.target.astype(np.int64), tuple(str(digit) for digit in range(10))
    if name == 'faces':
        import skimage.data

        crops = skimage.data.lfw_subset()  # (200, 25, 25) in [0, 1]: 100 faces, then 100 non-faces
        labels = np.repeat(np.array([0, 1]), [100, 100])
        return np.round(crops * 255.0).astype(np.uint8), labels, ('face', 'non_face')
    raise ValueError(f"unknown labelled dataset {name!r}; choose 'digits' or 'faces'")


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a class-stratified train/val split.

    Args:
        labels: ``(N,)`` integer labels.
        val_fraction: share of each class that goes to val, in ``(0, 1)``.
        seed: seed of the shuffle.

    Returns:
        ``(train_indices, val_indices)``, each sorted.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
    generator = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels):
        members = generator.permutation(np.flatnonzero(labels == label))
        count = int(round(len(members) * val_fraction))
        val.extend(members[:count])
        train.extend(members[count:])
    return np.sort(np.array(train)), np.sort(np.array(val))


def prepare_labelled_dataset(
    name: DatasetName, root: Path | str, image_size: int = 32, val_fraction: float = 0.25, seed: int = 0
) -> Path:
    """Write one labelled set as class folders under ``root/<name>`` (idempotent for the same arguments).

    Args:
        name: ``'digits'`` or ``'faces'``.
        root: parent folder; the set goes to ``root/name``.
        image_size: side of the written square PNGs (bilinear resampling).
        val_fraction: share of each class held out in ``val/``.
        seed: seed of the split.

    Returns:
        The dataset folder ``root/name``.
    """
    from PIL import Image

    images, labels, class_names = load_source_images(name)
    dataset_root = Path(root) / name
    splits = dict(zip(('train', 'val'), stratified_split(labels, val_fraction, seed)))
    for split, indices in splits.items():
        for class_name in class_names:
            (dataset_root / split / class_name).mkdir(parents=True, exist_ok=True)
        for index in indices:
            destination = dataset_root / split / class_names[labels[index]] / f'{index:04d}.png'
            if destination.is_file():
                continue
            # The temporary name has no image extension, so a folder scan never picks up a half-written file.
            temporary = destination.with_name(destination.name + '.partial')
            Image.fromarray(images[index]).resize((image_size, image_size), Image.Resampling.BILINEAR).save(
                temporary, format='PNG'
            )
            temporary.replace(destination)
    (dataset_root / 'SOURCES.md').write_text(
        f'# {name}\n\nReal labelled images from an installed wheel ({_SOURCES[name]}), written as {image_size}x'
        f'{image_size} grey PNGs; stratified split with seed {seed}: {len(splits["train"])} train, '
        f'{len(splits["val"])} val. File names are indices into the source array.\n'
    )
    return dataset_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default=str(DEFAULT_ROOT), help='parent folder (default: %(default)s)')
    parser.add_argument('--image-size', type=int, default=32, help='side of the written images (default: 32)')
    args = parser.parse_args()
    for name in ('digits', 'faces'):
        folder = prepare_labelled_dataset(name, args.root, image_size=args.image_size)
        counts = {split: sum(1 for _ in (folder / split).rglob('*.png')) for split in ('train', 'val')}
        print(f'{name}: {counts["train"]} train, {counts["val"]} val images in {folder.resolve()}')


if __name__ == '__main__':
    main()
