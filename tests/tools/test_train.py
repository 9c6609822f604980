"""End-to-end runs of tools/train.py on the bundled photographs (subprocesses, as a user runs them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cae_mm.checkpoints import read_checkpoint
from tests.conftest import REPO_ROOT, TEST_CONFIG
from tests.tools.tool_loading import load_tool


NO_DROP_PATH = ['model.backbone.drop_path_rate=0.0', 'model.neck.drop_path_rate=0.0', 'model.head.drop_path_rate=0.0']


def train(work_dir: Path, data_root: Path, *extra: str) -> str:
    command = [
        sys.executable,
        'tools/train.py',
        str(TEST_CONFIG),
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root / "images"}',
        *extra,
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout + completed.stderr


def logged_losses(work_dir: Path) -> list[float]:
    (scalars,) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line)['loss'] for line in scalars.read_text().splitlines() if 'loss' in line]


@pytest.mark.slow
def test_tiny_config_trains_and_its_loss_falls(tmp_path, demo_data_root):
    """8 iterations on real photographs: the loss falls, a checkpoint is written and its path printed."""
    output = train(tmp_path, demo_data_root)
    losses = logged_losses(tmp_path)
    assert len(losses) == 8
    assert sum(losses[-2:]) < sum(losses[:2])
    assert f'checkpoint: {tmp_path / "iter_8.pth"}' in output
    checkpoint = read_checkpoint(tmp_path / 'iter_8.pth')
    assert checkpoint['meta']['iter'] == 8
    assert {key.split('.')[0] for key in checkpoint['state_dict']} == {'backbone', 'neck', 'head'}


@pytest.mark.slow
def test_resume_continues_the_same_run(tmp_path, demo_data_root):
    """Stopping at iteration 4 and resuming ends with the same weights as an uninterrupted 8-iteration run."""
    uninterrupted, interrupted = tmp_path / 'uninterrupted', tmp_path / 'interrupted'
    train(uninterrupted, demo_data_root, *NO_DROP_PATH)
    train(interrupted, demo_data_root, *NO_DROP_PATH, 'train_cfg.max_iters=4')
    assert (interrupted / 'iter_4.pth').exists() and not (interrupted / 'iter_8.pth').exists()
    output = train(interrupted, demo_data_root, *NO_DROP_PATH, '--resume')
    assert 'resumed' in output.lower()
    expected = read_checkpoint(uninterrupted / 'iter_8.pth')
    resumed = read_checkpoint(interrupted / 'iter_8.pth')
    assert resumed['meta']['iter'] == 8
    for key, value in expected['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][key], value, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize('flags,expected', [([], 'OptimWrapper'), (['--amp'], 'cae_mm.BFloat16AutocastOptimWrapper')])
def test_amp_flag_picks_bf16_autocast_on_cpu(flags, expected):
    """Without a GPU, --amp means bf16 autocast (mmengine's AmpOptimWrapper refuses CPUs)."""
    train_tool = load_tool('train.py')
    cfg = train_tool.build_config(train_tool.parse_args([str(TEST_CONFIG), *flags]))
    if not torch.cuda.is_available():
        assert cfg.optim_wrapper.type == expected


def test_resume_and_work_dir_flags():
    """--resume alone resumes from the newest checkpoint; with a path, from that file; --work-dir wins."""
    train_tool = load_tool('train.py')
    auto = train_tool.build_config(train_tool.parse_args([str(TEST_CONFIG), '--resume', '--work-dir', 'w']))
    assert auto.resume is True and auto.load_from is None and auto.work_dir == 'w'
    explicit = train_tool.build_config(train_tool.parse_args([str(TEST_CONFIG), '--resume', 'x.pth']))
    assert explicit.resume is True and explicit.load_from == 'x.pth'
    assert explicit.work_dir.endswith('cae_vit-test-p8_1xb4-pixel-8i_test')
