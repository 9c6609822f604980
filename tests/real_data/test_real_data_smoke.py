"""A few iterations of every real-data path on the shared photos (../shared/data): CAE pretraining on
tiny_imagenet_10, an attentive probe on it, Mask R-CNN on coco128 with CocoMetric and UperNet on coco128_semseg with
IoUMetric. Tiny models; the assertions are on the real outputs: finite losses that fall, the metrics' keys and ranges."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tests.real_data.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'


def _losses(runner: Runner, key: str = 'train/loss') -> np.ndarray:
    """Every logged value of a training loss, in iteration order."""
    return np.asarray(runner.message_hub.get_scalar(key).data[0])


def _assert_finite_and_falling(losses: np.ndarray, window: int) -> None:
    assert len(losses) >= 2 * window
    assert np.isfinite(losses).all(), losses
    assert losses[-window:].mean() < losses[:window].mean(), losses


def _quiet(cfg: Config, work_dir: Path) -> Config:
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = work_dir.name
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return cfg


def _train(cfg: Config, window: int, **length: int) -> Runner:
    """Train for ``length`` (``max_epochs=N`` or ``max_iters=N``) at the optimizer's learning rate, one checkpoint at
    the end, no validation during the run; the losses are finite and fall (means of the first and last ``window``)."""
    ((loop_length, value),) = length.items()
    cfg.train_cfg.update({loop_length: value, 'val_interval': value + 1})
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint.interval = value
    runner = Runner.from_cfg(cfg)
    runner.train()
    _assert_finite_and_falling(_losses(runner), window)
    return runner


def test_cae_pretraining_on_tiny_imagenet_10(tiny_imagenet_10, tmp_path):
    """The small-scale CAE config, shrunk to a 64-wide encoder: 16 iterations of 16 photos; the losses fall and the
    feature-rank hook writes its records."""
    cfg = Config.fromfile(CONFIGS / 'small_scale' / 'cae_vit-tiny-p8_1xb64-pixel-800i_tiny-imagenet-10.py')
    cfg = _quiet(cfg, tmp_path)
    cfg.model.backbone.update(arch='test', drop_path_rate=0.0)
    for part in (cfg.model.neck, cfg.model.head):
        part.update(embed_dims=64, num_heads=4, depth=1, drop_path_rate=0.0)
    cfg.train_dataloader.update(batch_size=16, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = str(tiny_imagenet_10)
    cfg.train_cfg.max_iters = 16
    cfg.param_scheduler = None
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.default_hooks.checkpoint.interval = 16
    cfg.custom_hooks[-1].update(interval=8, num_images=8)
    runner = Runner.from_cfg(cfg)
    runner.train()
    _assert_finite_and_falling(_losses(runner), window=4)
    assert np.isfinite(_losses(runner, 'train/loss_alignment')).all()
    ranks = [json.loads(line) for line in (tmp_path / 'feature_rank.jsonl').read_text().splitlines()]
    assert [record['iter'] for record in ranks] == [0, 8, 16]
    assert all(1 <= record['rank_patch'] <= 64 for record in ranks)


def test_attentive_probe_on_tiny_imagenet_10(tiny_imagenet_10, tmp_path):
    """The attentive-probe twin (SGD with Nesterov momentum) on 50 training photos (5 a class) at 64 px, a random
    64-wide encoder, 8 epochs: the loss falls (the probe fits its photos) and mmpretrain's Accuracy scores 100
    held-out photos."""
    cfg = Config.fromfile(CONFIGS / 'attentive_probe' / 'cae_vit-test-p4_1xb64-attentive-probe-sgd-2e_digits_test.py')
    cfg = _quiet(cfg, tmp_path)
    cfg.model.backbone.update(patch_size=8, init_cfg=None)
    for loader, indices in (
        (cfg.train_dataloader, list(range(0, 5000, 100))),
        (cfg.val_dataloader, list(range(0, 500, 5))),
    ):
        loader.update(batch_size=10)
        loader.dataset.update(data_root=str(tiny_imagenet_10), indices=indices)
    cfg.train_dataloader.dataset.pipeline[1].update(scale=64)
    cfg.val_dataloader.dataset.pipeline[1].update(scale=72)
    cfg.val_dataloader.dataset.pipeline[2].update(crop_size=64)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.optim_wrapper.optimizer.lr = 0.05
    runner = _train(cfg, window=5, max_epochs=8)
    assert runner.optim_wrapper.optimizer.defaults['nesterov'] is True
    accuracy = runner.val()['accuracy/top1']
    assert 0 <= accuracy <= 100


@pytest.mark.slow
def test_mask_rcnn_on_coco128_with_coco_metric(coco128, tmp_path):
    """The Mask R-CNN twin (80 COCO classes) on 8 coco128 training photos, 4 epochs, then CocoMetric on 4 val photos:
    the losses fall and box and mask AP are reported (at least 0)."""
    cfg = Config.fromfile(CONFIGS / 'mask_rcnn' / 'mask-rcnn_cae-vit-test-p16_1xb2-2e_rendered-coco_test.py')
    cfg = _quiet(cfg, tmp_path)
    cfg.model.roi_head.bbox_head.num_classes = 80
    cfg.model.roi_head.mask_head.num_classes = 80
    # a few iterations from scratch score below the usual 0.05: keep every box so that CocoMetric scores something
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    for loader, split, count in ((cfg.train_dataloader, 'train', 8), (cfg.val_dataloader, 'val', 4)):
        loader.dataset.pop('metainfo')  # coco128 holds the 80 COCO categories: CocoDataset's own metainfo
        loader.dataset.update(
            data_root=str(coco128) + '/',
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'images/{split}/'),
            indices=count,
        )
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator = dict(
        type='CocoMetric', ann_file=str(coco128 / 'annotations' / 'instances_val.json'), metric=['bbox', 'segm']
    )
    cfg.test_evaluator = cfg.val_evaluator
    runner = _train(cfg, window=4, max_epochs=4)
    metrics = runner.val()
    for key in ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50'):
        value = metrics[f'coco/{key}']
        assert 0 <= value <= 1 and math.isfinite(value), (key, value)


@pytest.mark.slow
def test_upernet_on_coco128_semseg_with_iou_metric(coco128_semseg, tmp_path):
    """The UperNet twin (124 classes, 255 ignored) on 8 coco128_semseg photos, 8 iterations, then IoUMetric on 4 val
    photos: the losses fall and mIoU and aAcc are reported."""
    cfg = Config.fromfile(CONFIGS / 'upernet' / 'upernet_cae-vit-test-p16_1xb2-4i_rendered-ade20k-128x128_test.py')
    cfg = _quiet(cfg, tmp_path)
    classes = tuple((coco128_semseg / 'classes.txt').read_text().splitlines())
    assert len(classes) == 124
    cfg.model.decode_head.num_classes = len(classes)
    cfg.model.auxiliary_head.num_classes = len(classes)
    for loader, split, count in ((cfg.train_dataloader, 'training', 8), (cfg.val_dataloader, 'validation', 4)):
        loader.dataset.update(
            type='BaseSegDataset',
            data_root=str(coco128_semseg),
            metainfo=dict(classes=classes),
            indices=count,
            data_prefix=dict(img_path=f'images/{split}', seg_map_path=f'annotations/{split}'),
            img_suffix='.jpg',
            seg_map_suffix='.png',
            reduce_zero_label=False,
        )
        for transform in loader.dataset.pipeline:
            if transform['type'] == 'LoadAnnotations':
                transform['reduce_zero_label'] = False
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    cfg.test_evaluator = cfg.val_evaluator
    runner = _train(cfg, window=3, max_iters=8)
    metrics = runner.val()
    for key in ('mIoU', 'aAcc'):
        value = metrics[key]
        assert 0 <= value <= 100 and math.isfinite(value), (key, value)
