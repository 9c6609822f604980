"""Rendered scenes with exact masks, written in COCO (instances) and ADE20K (label PNG) on-disk formats.

The detection and segmentation pipelines need annotated data, and no annotated detection/segmentation set ships
offline. Each scene here is a background (a crop of a real photograph, or flat grey) with a few non-overlapping
objects of three classes, each class painted in its own colour range so that a model can learn the task quickly:

* ``square`` (axis-aligned rectangle) and ``triangle``: polygons, stored as COCO polygons;
* ``disc`` (axis-aligned ellipse): stored as COCO RLE.

Polygon objects are painted from pycocotools' own rasterisation of the stored polygon, and discs from the very mask
their RLE encodes, so every annotation matches the pixels exactly. Layouts::

    ROOT/train/*.jpg, ROOT/val/*.jpg, ROOT/annotations/instances_{train,val}.json      (mmdet CocoDataset)
    ROOT/images/{training,validation}/*.jpg, ROOT/annotations/{training,validation}/*.png  (mmseg ADE20KDataset)

In the label PNGs 0 is ADE20K's unlabelled "other" (ignored with ``reduce_zero_label``), the background is 1 and the
three classes are 2, 3, 4, i.e. ADE20K classes 0-3 after ``reduce_zero_label``.

Run ``python tools/data/rendered_scenes.py --root data/rendered_scenes [--photographs data/cae_demo/images]``.
"""

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Sequence

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

SHAPE_CLASSES = ('square', 'disc', 'triangle')
CLASS_COLOURS = {'square': (215, 45, 45), 'disc': (45, 95, 225), 'triangle': (45, 195, 75)}
BACKGROUND_LABEL = 1  # label PNG value of the background; class i of SHAPE_CLASSES is 2 + i
COLOUR_JITTER = 25


@dataclass
class RenderedObject:
    """One object of a scene.

    Attributes:
        class_name: one of :data:`SHAPE_CLASSES`.
        mask: ``(H, W)`` bool, the object's pixels.
        polygon: flat ``[x1, y1, x2, y2, ...]`` outline for polygon classes, None for discs (stored as RLE).
    """

    class_name: str
    mask: np.ndarray
    polygon: Optional[list[float]]


def _polygon_mask(polygon: list[float], height: int, width: int) -> np.ndarray:
    """Rasterise a polygon exactly as pycocotools (and so mmdet and CocoMetric) will."""
    rle = mask_utils.merge(mask_utils.frPyObjects([polygon], height, width))
    return mask_utils.decode(rle).astype(bool)


def _disc_mask(box: tuple[int, int, int, int], height: int, width: int) -> np.ndarray:
    left, top, right, bottom = box
    rows, cols = np.mgrid[0:height, 0:width]
    centre_row, centre_col = (top + bottom - 1) / 2, (left + right - 1) / 2
    radius_row, radius_col = (bottom - top) / 2, (right - left) / 2
    return ((rows - centre_row) / radius_row) ** 2 + ((cols - centre_col) / radius_col) ** 2 <= 1.0


def _shape(class_name: str, box: tuple[int, int, int, int], height: int, width: int) -> RenderedObject:
    left, top, right, bottom = box
    if class_name == 'disc':
        return RenderedObject(class_name, _disc_mask(box, height, width), None)
    if class_name == 'square':
        polygon = [left, top, right, top, right, bottom, left, bottom]
    else:
        polygon = [(left + right) / 2, top, right, bottom, left, bottom]
    polygon = [float(value) for value in polygon]
    return RenderedObject(class_name, _polygon_mask(polygon, height, width), polygon)


def _background(rng: np.random.Generator, height: int, width: int, photographs: Sequence[Path]) -> np.ndarray:
    """A random crop of a random photograph (resized to cover the scene), or flat grey without photographs."""
    if not photographs:
        return np.full((height, width, 3), 128, dtype=np.uint8)
    with Image.open(photographs[rng.integers(len(photographs))]) as photograph:
        photograph = photograph.convert('RGB')
        scale = max(height / photograph.height, width / photograph.width) * rng.uniform(1.0, 1.5)
        photograph = photograph.resize(
            (max(width, round(photograph.width * scale)), max(height, round(photograph.height * scale))), Image.BILINEAR
        )
        top = rng.integers(photograph.height - height + 1)
        left = rng.integers(photograph.width - width + 1)
        return np.asarray(photograph.crop((left, top, left + width, top + height))).copy()


def render_scene(
    rng: np.random.Generator,
    height: int,
    width: int,
    photographs: Sequence[Path] = (),
    max_objects: int = 3,
    size_range: tuple[int, int] = (20, 48),
) -> tuple[np.ndarray, list[RenderedObject]]:
    """Render one scene.

    Args:
        rng: random generator (the scene is a pure function of its state).
        height: image height.
        width: image width.
        photographs: background photographs; empty for a flat grey background.
        max_objects: at most this many objects (at least one), placed without overlap.
        size_range: object side lengths in pixels, ``[low, high)``.

    Returns:
        ``(image (H, W, 3) uint8 RGB, objects)``.
    """
    image = _background(rng, height, width, photographs)
    objects: list[RenderedObject] = []
    occupied = np.zeros((height, width), dtype=bool)
    margin = 3
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(50):
            box_height, box_width = rng.integers(*size_range, size=2)
            top, left = rng.integers(0, height - box_height), rng.integers(0, width - box_width)
            region = occupied[
                max(top - margin, 0) : top + box_height + margin, max(left - margin, 0) : left + box_width + margin
            ]
            if not region.any():
                break
        else:
            continue  # no free place left: fewer objects in this scene
        class_name = SHAPE_CLASSES[rng.integers(len(SHAPE_CLASSES))]
        rendered = _shape(
            class_name, (int(left), int(top), int(left + box_width), int(top + box_height)), height, width
        )
        colour = np.clip(
            np.array(CLASS_COLOURS[class_name]) + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3), 0, 255
        )
        image[rendered.mask] = colour.astype(np.uint8)
        occupied[top : top + box_height, left : left + box_width] = True
        objects.append(rendered)
    return image, objects


def _save_jpeg(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=95)


def _coco_annotation(rendered: RenderedObject, annotation_id: int, image_id: int) -> dict:
    rows, cols = np.nonzero(rendered.mask)
    left, top = int(cols.min()), int(rows.min())
    bbox = [left, top, int(cols.max()) + 1 - left, int(rows.max()) + 1 - top]
    if rendered.polygon is not None:
        segmentation = [rendered.polygon]
    else:
        rle = mask_utils.encode(np.asfortranarray(rendered.mask.astype(np.uint8)))
        segmentation = dict(size=rle['size'], counts=rle['counts'].decode('ascii'))
    return dict(
        id=annotation_id,
        image_id=image_id,
        category_id=1 + SHAPE_CLASSES.index(rendered.class_name),
        segmentation=segmentation,
        area=int(rendered.mask.sum()),
        bbox=bbox,
        iscrowd=0,
    )


def write_coco_instances(
    root: Path | str,
    split: str,
    num_images: int,
    image_size: tuple[int, int] = (128, 160),
    seed: int = 0,
    photographs: Sequence[Path] = (),
) -> Path:
    """Write ``num_images`` scenes and their COCO instance annotations.

    Args:
        root: dataset root.
        split: ``'train'`` or ``'val'`` (any name): images go to ``root/split/``.
        num_images: scene count.
        image_size: ``(height, width)``.
        seed: random seed of the scenes.
        photographs: background photographs (empty: flat grey).

    Returns:
        The annotation file ``root/annotations/instances_{split}.json``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    height, width = image_size
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image, objects = render_scene(rng, height, width, photographs)
        file_name = f'{split}_{image_id:04d}.jpg'
        _save_jpeg(image, root / split / file_name)
        images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
        annotations.extend(_coco_annotation(rendered, len(annotations) + 1, image_id) for rendered in objects)
    categories = [dict(id=1 + index, name=name, supercategory='shape') for index, name in enumerate(SHAPE_CLASSES)]
    annotation_file = root / 'annotations' / f'instances_{split}.json'
    annotation_file.parent.mkdir(parents=True, exist_ok=True)
    annotation_file.write_text(json.dumps(dict(images=images, annotations=annotations, categories=categories)))
    return annotation_file


def label_map(objects: Sequence[RenderedObject], height: int, width: int) -> np.ndarray:
    """ADE20K-style ``(H, W)`` uint8 labels: background 1, class ``i`` of :data:`SHAPE_CLASSES` ``2 + i``."""
    labels = np.full((height, width), BACKGROUND_LABEL, dtype=np.uint8)
    for rendered in objects:
        labels[rendered.mask] = BACKGROUND_LABEL + 1 + SHAPE_CLASSES.index(rendered.class_name)
    return labels


def write_ade20k_scenes(
    root: Path | str,
    split: Literal['training', 'validation'],
    num_images: int,
    image_size: tuple[int, int] = (128, 192),
    seed: int = 0,
    photographs: Sequence[Path] = (),
) -> Path:
    """Write ``num_images`` scenes as ADE20K images and label PNGs.

    Args:
        root: dataset root (``data_root`` of mmseg's ``ADE20KDataset``).
        split: ``'training'`` or ``'validation'``.
        num_images: scene count.
        image_size: ``(height, width)``.
        seed: random seed of the scenes.
        photographs: background photographs (empty: flat grey).

    Returns:
        ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    height, width = image_size
    for index in range(num_images):
        image, objects = render_scene(rng, height, width, photographs, size_range=(12, min(height, width) // 2))
        stem = f'ADE_{split}_{index:08d}'
        _save_jpeg(image, root / 'images' / split / f'{stem}.jpg')
        label_file = root / 'annotations' / split / f'{stem}.png'
        label_file.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(label_map(objects, height, width)).save(label_file)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='data/rendered_scenes', help='destination folder (default: %(default)s)')
    parser.add_argument('--photographs', help='folder of background photographs (default: flat grey)')
    parser.add_argument('--images', type=int, default=16, help='scenes per training split (default: %(default)s)')
    args = parser.parse_args()
    photographs = sorted(Path(args.photographs).glob('*.png')) if args.photographs else []
    root = Path(args.root)
    for split, count, seed in (('train', args.images, 0), ('val', max(args.images // 2, 1), 1)):
        write_coco_instances(root / 'coco', split, count, seed=seed, photographs=photographs)
    for split, count, seed in (('training', args.images, 0), ('validation', max(args.images // 2, 1), 1)):
        write_ade20k_scenes(root / 'ade', split, count, seed=seed, photographs=photographs)
    print(f'rendered scenes in {root.resolve()}: coco/ (mmdet CocoDataset) and ade/ (mmseg ADE20KDataset)')


if __name__ == '__main__':
    main()
