"""Non-finite losses in training: fp16 loss scaling skips a step and goes on; a NaN that persists stops training
with a clear error and leaves the last good checkpoint as the newest one, from which --resume continues."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.models import SelfSupDataPreprocessor

from cae_mm.checkpoints import read_checkpoint
from cae_mm.engine.hooks import StopOnNonFiniteHook
from tests.conftest import REPO_ROOT, TEST_CONFIG


class Warnings:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def warning(self, message: str) -> None:
        self.messages.append(message)


def runner_with_loss_scaler(scaler: torch.amp.GradScaler) -> SimpleNamespace:
    message_hub = MessageHub.get_instance('test_non_finite_loss_training')
    message_hub.update_info('last_ckpt', '/work/iter_2.pth')
    preprocessor = SelfSupDataPreprocessor(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
    return SimpleNamespace(
        iter=0,
        message_hub=message_hub,
        logger=Warnings(),
        model=SimpleNamespace(data_preprocessor=preprocessor),
        optim_wrapper=SimpleNamespace(loss_scaler=scaler),
    )


def scaled_step(
    scaler: torch.amp.GradScaler, parameter: torch.nn.Parameter, optimizer: torch.optim.Optimizer, overflow: bool
) -> dict:
    """One step as AmpOptimWrapper takes it; the loss overflows (inf) or not."""
    optimizer.zero_grad()
    loss = (parameter * (float('inf') if overflow else 1.0)).sum()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return dict(loss=loss.detach())


def test_loss_scaler_skips_overflowing_steps_until_the_overflow_persists():
    scaler = torch.amp.GradScaler('cpu', init_scale=2.0**16)
    parameter = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    runner = runner_with_loss_scaler(scaler)
    hook = StopOnNonFiniteHook(max_skipped_steps=3)
    batch = dict(inputs=[torch.ones(3, 8, 8)], data_samples=[])

    def iteration(overflow: bool) -> None:
        hook.before_train_iter(runner, runner.iter, batch)
        outputs = scaled_step(scaler, parameter, optimizer, overflow)
        hook.after_train_iter(runner, runner.iter, batch, outputs)
        runner.iter += 1

    iteration(overflow=True)
    iteration(overflow=True)
    assert torch.equal(parameter.detach(), torch.ones(3))  # both steps skipped by the scaler
    assert len(runner.logger.messages) == 2 and 'loss scaler skipped this step' in runner.logger.messages[0]
    assert 'scale 65536 -> 32768' in runner.logger.messages[0]
    iteration(overflow=False)  # a finite step resets the count
    assert hook.skipped_in_a_row == 0
    iteration(overflow=True)
    iteration(overflow=True)
    with pytest.raises(FloatingPointError) as error:
        iteration(overflow=True)
    message = str(error.value)
    assert 'non-finite loss at 3 iterations in a row, up to iteration 6' in message
    assert 'training diverged' in message and 'The newest checkpoint, /work/iter_2.pth' in message


def test_without_a_loss_scaler_the_first_non_finite_loss_stops():
    """fp32/bf16: the optimizer already applied the step, so there is nothing to skip."""
    runner = runner_with_loss_scaler(torch.amp.GradScaler('cpu', enabled=False))
    hook = StopOnNonFiniteHook()
    hook.before_train_iter(runner, 0)
    with pytest.raises(FloatingPointError, match='non-finite loss at iteration 1 '):
        hook.after_train_iter(runner, 0, None, dict(loss=torch.tensor(float('nan'))))


def test_max_skipped_steps_must_be_positive():
    with pytest.raises(ValueError, match='max_skipped_steps must be at least 1'):
        StopOnNonFiniteHook(max_skipped_steps=0)


def train(config: Path, work_dir: Path, *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir), *options]
    environment = dict(os.environ, PYTHONPATH=f'{REPO_ROOT}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=environment)


@pytest.mark.slow
def test_nan_after_a_checkpoint_stops_training_and_resume_continues_from_it(tmp_path, demo_data_root):
    config = tmp_path / 'nan_at_iteration_3.py'
    config.write_text(f"""_base_ = [{str(TEST_CONFIG)!r}]
custom_imports = dict(imports=['cae_mm', 'tests.engine.hooks.nan_injection'], allow_failed_imports=False)
train_dataloader = dict(dataset=dict(data_root={str(demo_data_root / 'images')!r}))
train_cfg = dict(max_iters=4)
default_hooks = dict(checkpoint=dict(interval=2))
custom_hooks = [dict(type='cae_mm.RandomStateHook'), dict(type='cae_mm.StopOnNonFiniteHook'),
                dict(type='cae_mm.PoisonWeightsHook', at_iteration=3)]
""")
    work_dir = tmp_path / 'work'
    failed = train(config, work_dir)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert 'FloatingPointError: non-finite loss at iteration 3' in output
    assert f'The newest checkpoint, {work_dir / "iter_2.pth"}, was written before this step' in output
    assert sorted(path.name for path in work_dir.glob('iter_*.pth')) == ['iter_2.pth']
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(work_dir / 'iter_2.pth')
    weights = read_checkpoint(work_dir / 'iter_2.pth')['state_dict']
    assert all(torch.isfinite(tensor).all() for tensor in weights.values())

    resumed = train(config, work_dir, '--resume', '--cfg-options', 'custom_hooks.2.at_iteration=0')
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    assert 'resumed' in (resumed.stdout + resumed.stderr).lower()
    final = read_checkpoint(work_dir / 'iter_4.pth')
    assert final['meta']['iter'] == 4
    assert all(torch.isfinite(tensor).all() for tensor in final['state_dict'].values())
