"""Rendered scenes: annotations match the painted pixels exactly, in COCO (polygons and RLE) and ADE20K formats."""

import json

import numpy as np
from PIL import Image
from pycocotools.coco import COCO

from tools.data.rendered_scenes import (
    BACKGROUND_LABEL,
    CLASS_COLOURS,
    COLOUR_JITTER,
    SHAPE_CLASSES,
    render_scene,
    write_ade20k_scenes,
    write_coco_instances,
)


def test_objects_are_painted_exactly_where_their_masks_are():
    """Flat grey background: every non-grey pixel belongs to exactly one object, in its class colour range."""
    image, objects = render_scene(np.random.default_rng(3), 96, 128, max_objects=3)
    assert 1 <= len(objects) <= 3
    union = np.zeros((96, 128), dtype=int)
    for rendered in objects:
        union += rendered.mask
        colours = image[rendered.mask].astype(int)
        assert np.all(np.abs(colours - CLASS_COLOURS[rendered.class_name]) <= COLOUR_JITTER)
        assert np.all(colours == colours[0])  # one colour per object
    assert union.max() == 1  # no overlaps
    assert np.all(image[union == 0] == 128)


def test_polygons_and_rle_decode_to_the_rendered_masks(tmp_path):
    annotation_file = write_coco_instances(tmp_path, 'train', 6, image_size=(96, 128), seed=1)
    annotations = json.loads(annotation_file.read_text())
    assert [category['name'] for category in annotations['categories']] == list(SHAPE_CLASSES)
    kinds = {type(annotation['segmentation']) for annotation in annotations['annotations']}
    assert kinds == {list, dict}  # polygons (squares, triangles) and RLE (discs) both occur

    # Re-render the same scenes and compare every stored annotation with its mask.
    rng = np.random.default_rng(1)
    coco = COCO(str(annotation_file))
    for image_id in range(1, 7):
        _, objects = render_scene(rng, 96, 128)
        stored = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert len(stored) == len(objects)
        for annotation, rendered in zip(stored, objects):
            decoded = coco.annToMask(annotation).astype(bool)
            np.testing.assert_array_equal(decoded, rendered.mask)
            assert annotation['area'] == rendered.mask.sum()
            rows, cols = np.nonzero(rendered.mask)
            assert annotation['bbox'] == [
                cols.min(),
                rows.min(),
                cols.max() + 1 - cols.min(),
                rows.max() + 1 - rows.min(),
            ]
            assert SHAPE_CLASSES[annotation['category_id'] - 1] == rendered.class_name
            assert isinstance(annotation['segmentation'], dict) == (rendered.class_name == 'disc')
    assert (tmp_path / 'train' / 'train_0006.jpg').is_file()


def test_ade20k_label_pngs_hold_background_and_class_values(tmp_path, demo_data_root):
    """Real photographs as backgrounds; labels are 1 for background and 2 + class index for objects."""
    photographs = sorted((demo_data_root / 'images').glob('*.png'))
    write_ade20k_scenes(tmp_path, 'training', 3, image_size=(64, 96), seed=2, photographs=photographs)
    rng = np.random.default_rng(2)
    for index in range(3):
        stem = f'ADE_training_{index:08d}'
        image = np.asarray(Image.open(tmp_path / 'images' / 'training' / f'{stem}.jpg'))
        labels = np.asarray(Image.open(tmp_path / 'annotations' / 'training' / f'{stem}.png'))
        assert image.shape == (64, 96, 3) and labels.shape == (64, 96) and labels.dtype == np.uint8
        _, objects = render_scene(rng, 64, 96, photographs, size_range=(12, 32))
        expected = np.full((64, 96), BACKGROUND_LABEL)
        for rendered in objects:
            expected[rendered.mask] = BACKGROUND_LABEL + 1 + SHAPE_CLASSES.index(rendered.class_name)
        np.testing.assert_array_equal(labels, expected)
