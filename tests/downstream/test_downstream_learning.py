"""The pipelines learn: on rendered scenes a model can solve (flat background, one colour range per class), a short
training beats the untrained model on the libraries' own metrics (COCO AP, mIoU)."""

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tools.data.rendered_scenes import write_ade20k_scenes, write_coco_instances
from tests.downstream.runs import MASK_RCNN_TEST, UPERNET_TEST, detection_config, segmentation_config, write_splits


def untrained_then_trained(cfg: Config, metric_names: tuple[str, ...], **length: int) -> tuple[dict, dict]:
    """Validate the freshly built model, train it for ``length`` (``max_epochs=N`` or ``max_iters=N``; a 5-iteration
    warmup, then the full learning rate) and validate again; return both metric sets."""
    ((loop_length, value),) = length.items()
    cfg.train_cfg.update({loop_length: value, 'val_interval': value})
    cfg.randomness = dict(seed=0)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)]
    cfg.default_hooks.checkpoint.interval = 10**6  # no checkpoint files: only the metrics matter here
    runner = Runner.from_cfg(cfg)
    untrained = runner.val()
    runner.train()
    trained = {name: runner.message_hub.get_scalar(f'val/{name}').current() for name in metric_names}
    return {name: untrained[name] for name in metric_names}, trained


@pytest.mark.slow
def test_mask_rcnn_learns_to_detect_and_segment_the_shapes(tmp_path: Path):
    """96 iterations (12 epochs of 16 images): box and mask AP50 rise above the untrained model's."""
    data_root = write_splits(write_coco_instances, tmp_path / 'coco', {'train': 16, 'val': 8})
    cfg = detection_config(MASK_RCNN_TEST, data_root, tmp_path / 'work')
    # Fewer sampled anchors and RoIs than COCO's 256/512: the scenes hold 1-3 objects, and smaller samples keep
    # the positives from being swamped while the heads are untrained.
    cfg.model.train_cfg.rpn.sampler.num = 64
    cfg.model.train_cfg.rcnn.sampler.num = 64
    untrained, trained = untrained_then_trained(cfg, ('coco/bbox_mAP_50', 'coco/segm_mAP_50'), max_epochs=12)
    assert trained['coco/bbox_mAP_50'] > untrained['coco/bbox_mAP_50'], (untrained, trained)
    assert trained['coco/segm_mAP_50'] > untrained['coco/segm_mAP_50'], (untrained, trained)


@pytest.mark.slow
def test_upernet_learns_to_segment_the_shapes(tmp_path: Path):
    """40 iterations: mIoU over background and the three shapes rises above the untrained model's."""
    data_root = write_splits(write_ade20k_scenes, tmp_path / 'ade', {'training': 16, 'validation': 8})
    cfg = segmentation_config(UPERNET_TEST, data_root, tmp_path / 'work')
    untrained, trained = untrained_then_trained(cfg, ('mIoU',), max_iters=40)
    assert trained['mIoU'] > untrained['mIoU'], (untrained, trained)
