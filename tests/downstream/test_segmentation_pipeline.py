"""The tiny UperNet twin trains on ADE20K-format data loaded by mmseg's own ADE20KDataset (label PNGs,
reduce_zero_label) and evaluates through mmseg's IoUMetric."""

import math

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from tools.data.rendered_scenes import BACKGROUND_LABEL
from tests.downstream.runs import UPERNET_TEST, logged_validation, run_train_tool, segmentation_config


def test_ade20k_dataset_reads_label_pngs_and_a_step_trains(rendered_ade, tmp_path):
    """Labels arrive reduced by one (background -> 0), the UperNet step is finite, gradients reach the encoder's
    relative position bias, and whole-image slide inference returns a map of the image size."""
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import DATASETS, MODELS

    cfg = segmentation_config(UPERNET_TEST, rendered_ade, tmp_path)
    init_default_scope('mmseg')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 4 and len(dataset.metainfo['classes']) == 4
    sample = dataset[0]
    labels = sample['data_samples'].gt_sem_seg.data
    assert labels.shape[-2:] == (128, 128)
    assert set(np.unique(labels.numpy())) <= {BACKGROUND_LABEL - 1, 1, 2, 3, 255}

    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]), True)
    loss, _ = model.parse_losses(model(**batch, mode='loss'))
    assert torch.isfinite(loss)
    optim_wrapper.backward(loss)
    assert model.backbone.encoder.relative_position_bias[0].table.grad.abs().sum() > 0

    model.eval()
    validation = DATASETS.build(cfg.val_dataloader.dataset)
    with torch.no_grad():
        (prediction,) = model.test_step(pseudo_collate([validation[0]]))
    assert prediction.pred_sem_seg.data.shape[-2:] == (128, 192)


@pytest.mark.slow
def test_upernet_twin_trains_and_evaluates_through_tools_train(rendered_ade, tmp_path):
    """``tools/train.py`` runs the mmseg config, trains 4 iterations and reports mIoU from IoUMetric."""
    run_train_tool(
        UPERNET_TEST,
        tmp_path,
        f'train_dataloader.dataset.data_root={rendered_ade}',
        f'val_dataloader.dataset.data_root={rendered_ade}',
    )
    metrics = logged_validation(tmp_path)
    for key in ('mIoU', 'aAcc', 'mAcc'):
        assert 0.0 <= metrics[key] <= 100.0 and math.isfinite(metrics[key]), metrics
    assert (tmp_path / 'iter_4.pth').is_file()
