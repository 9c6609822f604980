"""tools/dist_train.sh runs the mmdet and mmseg configs with two processes, also on a machine without GPUs (gloo);
killing it (its process group, or torchrun alone, with SIGKILL) ends its training processes."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import torch

from tools.data.rendered_scenes import write_ade20k_scenes, write_coco_instances
from tests.conftest import REPO_ROOT, TEST_CONFIG, free_port
from tests.downstream.runs import MASK_RCNN_TEST, UPERNET_TEST, write_splits


def dist_train(config, work_dir, *cfg_options: str) -> str:
    environment = dict(os.environ, OMP_NUM_THREADS='1', MASTER_PORT=str(free_port()))
    command = [
        'bash',
        'tools/dist_train.sh',
        str(config),
        '2',
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        *cfg_options,
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=environment)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout + completed.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
@pytest.mark.parametrize('family', ['mask_rcnn', 'upernet'])
def test_two_process_training_without_gpus(family, tmp_path):
    if family == 'mask_rcnn':
        data_root = write_splits(write_coco_instances, tmp_path / 'coco', {'train': 4, 'val': 2})
        config, checkpoint = MASK_RCNN_TEST, tmp_path / 'work' / 'epoch_1.pth'
        options = [
            f'val_evaluator.ann_file={data_root / "annotations" / "instances_val.json"}',
            'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1',
        ]
    else:
        data_root = write_splits(write_ade20k_scenes, tmp_path / 'ade', {'training': 4, 'validation': 2})
        config, checkpoint, options = UPERNET_TEST, tmp_path / 'work' / 'iter_4.pth', []
    output = dist_train(
        config,
        tmp_path / 'work',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        *options,
    )
    assert 'Distributed training: True' in output
    assert output.count('Training finished.') == 1  # printed by rank 0 only
    assert checkpoint.is_file()


def endless_training_config(folder) -> str:
    """The tiny pixel config for 100,000 iterations; every process saves its weights after each one."""
    config = folder / 'endless.py'
    config.write_text(f"""_base_ = [{str(TEST_CONFIG)!r}]
custom_imports = dict(imports=['cae_mm', 'tests.tools.distributed_run_helpers'], allow_failed_imports=False)
train_dataloader = dict(
    batch_size=2,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(_delete_=True, type='cae_mm.IndexSeededMaskedImages', length=16, image_size=64, patch_size=8,
                 num_masked=32))
param_scheduler = []
train_cfg = dict(max_iters=100000)
default_hooks = dict(checkpoint=dict(interval=100000))
custom_hooks = [dict(type='cae_mm.WeightRecorderHook')]
""")
    return str(config)


def is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the workers use PR_SET_PDEATHSIG (Linux)')
@pytest.mark.parametrize('target', ['process-group', 'launcher'])
def test_killing_the_launcher_ends_the_workers(target, tmp_path):
    environment = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MASTER_PORT=str(free_port()),
        PYTHONPATH=f'{REPO_ROOT}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
    )
    work_dir = tmp_path / 'work'
    log = open(tmp_path / 'launcher.log', 'w')
    # A group of its own, as a shell gives a job, so that killing the group spares the test.
    launcher = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', endless_training_config(tmp_path), '2', '--work-dir', str(work_dir)],
        cwd=REPO_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers = []
    try:
        deadline = time.monotonic() + 240
        while not (work_dir / 'weights' / 'rank1_iter2.pth').exists():  # both workers are training
            assert launcher.poll() is None and time.monotonic() < deadline, (tmp_path / 'launcher.log').read_text()
            time.sleep(0.2)
        workers = [child.pid for child in psutil.Process(launcher.pid).children()]
        assert len(workers) == 2
        if target == 'process-group':
            os.killpg(launcher.pid, signal.SIGKILL)
        else:
            os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        deadline = time.monotonic() + 5
        while any(map(is_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(is_running, workers)), 'a training process outlived its launcher'
        written = set((work_dir / 'weights').iterdir())
        time.sleep(1)
        assert set((work_dir / 'weights').iterdir()) == written
    finally:
        for pid in workers:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
