"""tools/dist_train.sh runs the mmdet and mmseg configs with two processes, also on a machine without GPUs (gloo)."""
import os
import socket
import subprocess

import pytest
import torch

from cae_mm.datasets.rendered_scenes import write_ade20k_scenes, write_coco_instances
from tests.conftest import REPO_ROOT
from tests.downstream.runs import MASK_RCNN_TEST, UPERNET_TEST


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def dist_train(config, work_dir, *cfg_options: str) -> str:
    environment = dict(os.environ, OMP_NUM_THREADS='1', MASTER_PORT=str(free_port()))
    command = ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work_dir), '--cfg-options',
               *cfg_options]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=environment)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout + completed.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
@pytest.mark.parametrize('family', ['mask_rcnn', 'upernet'])
def test_two_process_training_without_gpus(family, tmp_path):
    if family == 'mask_rcnn':
        data_root = tmp_path / 'coco'
        write_coco_instances(data_root, 'train', 4, seed=0)
        write_coco_instances(data_root, 'val', 2, seed=1)
        output = dist_train(MASK_RCNN_TEST, tmp_path / 'work', f'train_dataloader.dataset.data_root={data_root}',
                            f'val_dataloader.dataset.data_root={data_root}',
                            f'val_evaluator.ann_file={data_root / "annotations" / "instances_val.json"}',
                            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1')
        checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    else:
        data_root = tmp_path / 'ade'
        write_ade20k_scenes(data_root, 'training', 4, seed=0)
        write_ade20k_scenes(data_root, 'validation', 2, seed=1)
        output = dist_train(UPERNET_TEST, tmp_path / 'work', f'train_dataloader.dataset.data_root={data_root}',
                            f'val_dataloader.dataset.data_root={data_root}')
        checkpoint = tmp_path / 'work' / 'iter_4.pth'
    assert 'Distributed training: True' in output
    assert output.count('Training finished.') == 1  # printed by rank 0 only
    assert checkpoint.is_file()
