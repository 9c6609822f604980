"""The bundled demo dataset: real photographs that ship inside scikit-image's and scikit-learn's wheels.

Nothing is downloaded. ``prepare_demo_dataset`` copies the photographs into an ordinary OpenMMLab image-folder layout::

    data/cae_demo/
        images/<source>_<name>.png     the photographs, pixel for pixel (re-encoded as PNG without colour profiles)
        meta/train.txt                 one file name per line (mmpretrain ``CustomDataset`` with ``with_label=False``)
        SOURCES.md                     where each photograph comes from

Run ``python tools/data/demo_images.py [--root DIR]``; ``tools/install.sh`` does it for you.
"""

import argparse
from pathlib import Path

DEFAULT_ROOT = Path('data/cae_demo')

# Photographs only: scikit-image's synthetic images (chessboards, phantom, logo, colour wheel, silhouette) are left out.
SKIMAGE_PHOTOGRAPHS = (
    'astronaut.png',
    'brick.png',
    'camera.png',
    'cell.png',
    'chelsea.png',
    'clock_motion.png',
    'coffee.png',
    'coins.png',
    'grass.png',
    'gravel.png',
    'hubble_deep_field.jpg',
    'ihc.png',
    'microaneurysms.png',
    'moon.png',
    'motorcycle_left.png',
    'motorcycle_right.png',
    'page.png',
    'retina.jpg',
    'rocket.jpg',
    'text.png',
)
SKLEARN_PHOTOGRAPHS = ('china.jpg', 'flower.jpg')


def find_source_photographs() -> list[tuple[str, Path]]:
    """Locate the photographs inside the installed scikit-image and scikit-learn packages.

    Returns:
        ``(prefixed file name, source path)`` pairs, in a fixed order.

    Raises:
        FileNotFoundError: if a photograph is missing from the installed wheels (a different package version).
    """
    import skimage.data
    import sklearn.datasets

    sources = [
        (Path(skimage.data.__file__).parent, 'skimage', SKIMAGE_PHOTOGRAPHS),
        (Path(sklearn.datasets.__file__).parent / 'images', 'sklearn', SKLEARN_PHOTOGRAPHS),
    ]
    found = []
    for folder, prefix, names in sources:
        for name in names:
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(
                    f'{path} is missing: the demo dataset expects the photographs that scikit-image 0.24 and '
                    'scikit-learn 1.5 ship; install the versions pinned in constraints.txt.'
                )
            found.append((f'{prefix}_{name}', path))
    return found


def _copy_as_png(source: Path, destination: Path) -> None:
    """Write the photograph's pixels as a PNG (lossless; drops ICC profiles that make libpng warn on every read)."""
    from PIL import Image

    # The temporary name does not end in an image extension, so a folder scan never picks up a half-written file.
    temporary = destination.with_name(destination.name + '.partial')
    try:
        with Image.open(source) as image:
            image.load()
            image.info.pop('icc_profile', None)
            image.save(temporary, format='PNG')
        temporary.replace(destination)
    finally:
        temporary.unlink(missing_ok=True)


def prepare_demo_dataset(root: Path | str = DEFAULT_ROOT) -> Path:
    """Lay out the demo dataset under ``root`` (idempotent).

    Args:
        root: destination folder.

    Returns:
        The dataset root.
    """
    root = Path(root)
    images, meta = root / 'images', root / 'meta'
    images.mkdir(parents=True, exist_ok=True)
    meta.mkdir(parents=True, exist_ok=True)
    photographs = find_source_photographs()
    names = []
    for name, source in photographs:
        destination = images / (Path(name).stem + '.png')
        names.append(destination.name)
        if not destination.is_file():
            _copy_as_png(source, destination)
    annotation = meta / 'train.txt'
    temporary = annotation.with_suffix('.tmp')
    temporary.write_text(''.join(f'{name}\n' for name in names))
    temporary.replace(annotation)
    (root / 'SOURCES.md').write_text(
        '# Sources\n\nEvery image is a real photograph from an installed wheel, re-encoded losslessly as PNG:\n'
        '`skimage_*` from scikit-image (`skimage/data/`, see its README.txt for credits and licences) and '
        '`sklearn_*` from scikit-learn (`sklearn/datasets/images/`, see its README.txt).\n'
    )
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default=str(DEFAULT_ROOT), help='destination folder (default: %(default)s)')
    args = parser.parse_args()
    root = prepare_demo_dataset(args.root)
    count = len((root / 'meta' / 'train.txt').read_text().split())
    print(f'demo dataset: {count} photographs in {root.resolve()}')


if __name__ == '__main__':
    main()
