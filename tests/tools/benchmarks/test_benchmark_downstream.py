"""tools/benchmarks/benchmark_downstream.py: its synthetic batches are what mmdet/mmseg pipelines pack; its options
reach the model."""

import numpy as np
import pytest
from mmengine.registry import DefaultScope

from tests.tools.tool_loading import load_tool


def load_benchmark_tool():
    return load_tool('benchmarks/benchmark_downstream.py')


def test_detection_batch_has_boxes_inside_the_image_and_box_shaped_masks():
    tool = load_benchmark_tool()
    batch = tool.detection_batch(120, 160, batch_size=2, objects=5)
    assert [tuple(image.shape) for image in batch['inputs']] == [(3, 120, 160)] * 2
    for sample in batch['data_samples']:
        boxes = sample.gt_instances.bboxes.numpy()
        assert boxes.shape == (5, 4)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 160).all() and (boxes[:, 3] <= 120).all()
        masks = sample.gt_instances.masks.to_ndarray()
        for mask, (left, top, right, bottom) in zip(masks, boxes.astype(int)):
            assert mask.sum() == (right - left) * (bottom - top) == mask[top:bottom, left:right].sum()


def test_segmentation_batch_has_labels_of_the_image_size():
    tool = load_benchmark_tool()
    batch = tool.segmentation_batch(64, 80, batch_size=2)
    labels = batch['data_samples'][0].gt_sem_seg.data
    assert labels.shape == (1, 64, 80) and 0 <= labels.min() and labels.max() < 150


def test_options_reach_the_built_model():
    """--window-size turns on ViTDet windows with global blocks 2, 5, 8, 11; --checkpointing sets recomputation."""
    tool = load_benchmark_tool()
    args = tool.parse_args(['mask_rcnn', '--window-size', '14', '--checkpointing', 'off'])
    model, optim_wrapper, scope = tool.build(args)
    encoder = model.backbone.encoder
    assert scope == 'mmdet' and not encoder.with_checkpoint
    assert [block.attn.window_size for block in encoder.layers] == [0 if i in (2, 5, 8, 11) else 14 for i in range(12)]
    assert np.isclose(max(group['lr'] for group in optim_wrapper.optimizer.param_groups), 3e-4)
    DefaultScope._instance_dict.clear()


def test_a_model_or_the_matrix_is_required():
    tool = load_benchmark_tool()
    with pytest.raises(SystemExit):
        tool.parse_args([])
    assert tool.parse_args(['--matrix']).matrix
