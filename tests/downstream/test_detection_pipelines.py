"""The tiny Mask R-CNN, Cascade Mask R-CNN and ViTDet-style twins train on COCO-format data loaded by mmdet's own
CocoDataset (polygon and RLE masks) and evaluate through mmdet's CocoMetric (pycocotools, offline)."""

import math

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from tests.downstream.runs import (
    CASCADE_TEST,
    MASK_RCNN_TEST,
    VITDET_TEST,
    detection_config,
    logged_validation,
    run_train_tool,
    train_and_validate,
)

COCO_METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP', 'coco/segm_mAP_50')


def assert_coco_metrics(metrics: dict) -> None:
    for key in COCO_METRICS:
        assert 0.0 <= metrics[key] <= 1.0 and math.isfinite(metrics[key]), (key, metrics)


def test_coco_dataset_reads_polygons_and_rle_and_a_step_trains(rendered_coco, tmp_path):
    """mmdet's CocoDataset and pipeline feed the tiny Mask R-CNN; one step gives finite losses and gradients reach
    the encoder, adapter and heads; inference returns boxes and masks at the original size."""
    from mmdet.registry import DATASETS, MODELS
    from mmengine.optim import build_optim_wrapper

    cfg = detection_config(MASK_RCNN_TEST, rendered_coco, tmp_path)
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 6 and dataset.metainfo['classes'] == ('square', 'disc', 'triangle')
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]), True)
    losses = model(**batch, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    optim_wrapper.backward(loss)
    for name in (
        'backbone.encoder.patch_embed.weight',
        'backbone.encoder.layers.0.attn.qkv.weight',
        'backbone.adapter.upsample_4x.0.weight',
        'neck.lateral_convs.0.conv.weight',
        'roi_head.mask_head.conv_logits.weight',
    ):
        assert model.get_parameter(name).grad.abs().sum() > 0, name

    model.eval()
    validation = DATASETS.build(cfg.val_dataloader.dataset)
    with torch.no_grad():
        (prediction,) = model.test_step(pseudo_collate([validation[0]]))
    instances = prediction.pred_instances
    assert instances.masks.shape[1:] == tuple(prediction.ori_shape)
    assert instances.bboxes.shape == (len(instances), 4)


@pytest.mark.slow
def test_mask_rcnn_twin_trains_and_evaluates_through_tools_train(rendered_coco, tmp_path):
    """``tools/train.py`` runs the mmdet config (its default_scope decides), trains 2 epochs, evaluates box and
    mask AP with CocoMetric, and writes the checkpoint."""
    run_train_tool(
        MASK_RCNN_TEST,
        tmp_path,
        f'train_dataloader.dataset.data_root={rendered_coco}',
        f'val_dataloader.dataset.data_root={rendered_coco}',
        f'val_evaluator.ann_file={rendered_coco / "annotations" / "instances_val.json"}',
    )
    assert_coco_metrics(logged_validation(tmp_path))
    assert (tmp_path / 'epoch_2.pth').is_file()


@pytest.mark.slow
@pytest.mark.parametrize('path', [CASCADE_TEST, VITDET_TEST], ids=['cascade_mask_rcnn', 'vitdet'])
def test_cascade_and_vitdet_twins_train_and_evaluate(path, rendered_coco, tmp_path):
    runner, metrics = train_and_validate(detection_config(path, rendered_coco, tmp_path))
    assert_coco_metrics(metrics)
    assert runner.iter == 2 * 3  # 2 epochs of 6 images in batches of 2
    if path == VITDET_TEST:
        assert [block.attn.window_size for block in runner.model.backbone.encoder.layers] == [4, 0, 4, 0]
    else:
        assert len(runner.model.roi_head.bbox_head) == 3


def test_tiny_twins_differ_from_the_full_configs_only_in_size_and_data():
    """The twins keep the full configs' model types, adapters, box loss and optimiser constructor."""
    for twin, full in (
        (MASK_RCNN_TEST, 'mask_rcnn/mask-rcnn_cae-vit-base-p16_16xb2-ms-1x_coco.py'),
        (VITDET_TEST, 'vitdet/mask-rcnn_cae-vit-base-p16-window14-sfp_16xb2-ms-1x_coco.py'),
    ):
        tiny, reference = Config.fromfile(twin), Config.fromfile(MASK_RCNN_TEST.parents[1] / full)
        assert tiny.model.type == reference.model.type
        assert tiny.model.backbone.adapter.type == reference.model.backbone.adapter.type
        assert tiny.model.roi_head.bbox_head.loss_bbox == reference.model.roi_head.bbox_head.loss_bbox
        assert tiny.optim_wrapper.constructor == reference.optim_wrapper.constructor
        assert tiny.model.backbone.encoder.patch_size == reference.model.backbone.encoder.patch_size
