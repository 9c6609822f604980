"""Two training processes (gloo, CPU) against one: DDP keeps the processes' weights identical after every step, and
both DDP and FSDP follow the single-process run with the same global batch.

Rank r of two draws samples r, r + 2, ... of the shared shuffled order (mmengine's ``InfiniteSampler``), so at every
step the two processes' batches of 2 together hold the single process's batch of 4; the data depend only on the
sample index, drop path is off, and every run starts from the same weights (``load_from`` one initial checkpoint:
mmengine's ``FlexibleRunner`` builds the model at another point of the random stream than its ``Runner``). The
averaged gradient of two
half-batch means equals the gradient of the full-batch mean up to rounding.

One parameter is left out of the comparison: the bias of the regressor's key LayerNorm (``norm1_k.bias``). Keys have
no bias of their own, so this bias moves every logit of a query by the same amount and the softmax cancels it: its
true gradient is zero, the computed one is rounding noise, and AdamW scales that noise up to full-size steps, which
differ between any two summation orders (measured: 1e-4 after 3 steps, every other weight within 2e-7).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO_ROOT, TEST_CONFIG, free_port

ITERATIONS = 3
GLOBAL_BATCH = 4
TOLERANCE = 1e-6
# Gradient identically zero (see the module docstring): its AdamW steps follow rounding noise.
NOISE_DRIVEN = ('.norm1_k.bias',)


def write_config(folder: Path) -> Path:
    """The tiny pixel config on index-seeded data, starting from ``initial.pth`` (the model's initial weights)."""
    from cae_mm.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TEST_CONFIG).model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), folder / 'initial.pth')
    config = folder / 'distributed_test.py'
    config.write_text(f"""_base_ = [{str(TEST_CONFIG)!r}]
load_from = {str(folder / 'initial.pth')!r}
custom_imports = dict(imports=['cae_mm', 'tests.tools.distributed_run_helpers'], allow_failed_imports=False)
model = dict(backbone=dict(drop_path_rate=0.0), neck=dict(drop_path_rate=0.0), head=dict(drop_path_rate=0.0))
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(_delete_=True, type='cae_mm.IndexSeededMaskedImages', length=16, image_size=64, patch_size=8,
                 num_masked=32))
train_cfg = dict(max_iters={ITERATIONS})
default_hooks = dict(checkpoint=dict(interval={ITERATIONS}))
custom_hooks = [dict(type='cae_mm.RandomStateHook'), dict(type='cae_mm.StopOnNonFiniteHook'),
                dict(type='cae_mm.WeightRecorderHook')]
""")
    return config


def train(config: Path, work_dir: Path, processes: int, *options: str) -> str:
    environment = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MASTER_PORT=str(free_port()),
        PYTHONPATH=f'{REPO_ROOT}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
    )
    batch = f'train_dataloader.batch_size={GLOBAL_BATCH // processes}'
    if processes == 1:
        launcher = [sys.executable, 'tools/train.py', str(config)]
    else:
        launcher = ['bash', 'tools/dist_train.sh', str(config), str(processes)]
    command = [*launcher, '--work-dir', str(work_dir), *options, '--cfg-options', batch]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=environment)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout + completed.stderr


def weights(work_dir: Path, rank: int, iteration: int) -> dict[str, torch.Tensor]:
    return torch.load(work_dir / 'weights' / f'rank{rank}_iter{iteration}.pth', weights_only=True)


def largest_difference(
    first: dict[str, torch.Tensor], second: dict[str, torch.Tensor], skip: tuple[str, ...] = ()
) -> float:
    assert first.keys() == second.keys()
    return max(float((first[name] - second[name]).abs().max()) for name in first if not name.endswith(skip))


@pytest.fixture(scope='module')
def single_process_run(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp('distributed')
    config = write_config(folder)
    train(config, folder / 'single', 1)
    return config, folder / 'single'


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_ddp_processes_stay_identical_and_match_one_process(single_process_run, tmp_path):
    config, single = single_process_run
    output = train(config, tmp_path, 2)
    assert 'Distributed training: True' in output
    for iteration in range(1, ITERATIONS + 1):
        rank0, rank1 = weights(tmp_path, 0, iteration), weights(tmp_path, 1, iteration)
        assert largest_difference(rank0, rank1) == 0.0, f'ranks differ after step {iteration}'
        difference = largest_difference(rank0, weights(single, 0, iteration), NOISE_DRIVEN)
        print(f'step {iteration}: DDP (2 x 2 images) vs one process (4 images): max |difference| {difference:.1e}')
        assert difference < TOLERANCE
    assert largest_difference(weights(single, 0, ITERATIONS), weights(single, 0, 1)) > 100 * TOLERANCE  # it trained


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_fsdp_matches_one_process_and_writes_a_full_checkpoint(single_process_run, tmp_path):
    """Sharded parameters, gradients and optimizer state; the same training, clipped by the norm over all shards."""
    from cae_mm.checkpoints import read_checkpoint

    config, single = single_process_run
    output = train(config, tmp_path, 2, '--strategy', 'fsdp')
    assert 'FSDPStrategy' in output and output.count('Training finished.') == 1
    for iteration in range(1, ITERATIONS + 1):
        difference = largest_difference(weights(tmp_path, 0, iteration), weights(single, 0, iteration), NOISE_DRIVEN)
        print(f'step {iteration}: FSDP (2 x 2 images) vs one process (4 images): max |difference| {difference:.1e}')
        assert difference < TOLERANCE
    checkpoint = read_checkpoint(tmp_path / f'iter_{ITERATIONS}.pth')['state_dict']
    reference = read_checkpoint(single / f'iter_{ITERATIONS}.pth')['state_dict']
    assert checkpoint.keys() == reference.keys()
    assert largest_difference(checkpoint, reference, NOISE_DRIVEN) < TOLERANCE


def test_fsdp_switch_sets_the_flexible_runner_and_cpu_wrappers(tmp_path):
    """``--strategy fsdp`` merges configs/_base_/strategies/fsdp.py; without GPUs the wrapper is put on the CPU."""
    sys.path.insert(0, str(REPO_ROOT / 'tools'))
    try:
        import train as train_tool
    finally:
        sys.path.remove(str(REPO_ROOT / 'tools'))
    from cae_mm.engine import use_cpu_model_wrappers

    cfg = train_tool.build_config(
        train_tool.parse_args(
            [str(TEST_CONFIG), '--strategy', 'fsdp', '--launcher', 'pytorch', '--work-dir', str(tmp_path)]
        )
    )
    assert cfg.runner_type == 'cae_mm.FlexibleRunner' and cfg.strategy.type == 'cae_mm.FSDPStrategy'
    assert cfg.strategy.model_wrapper.auto_wrap_policy == dict(type='cae_mm.transformer_block_wrap_policy')
    use_cpu_model_wrappers(cfg)
    assert cfg.strategy.model_wrapper.device_id == 'cpu'
    assert cfg.strategy.state_dict_cfg.state_dict_config.offload_to_cpu is False
    plain = Config.fromfile(TEST_CONFIG)
    use_cpu_model_wrappers(plain)
    assert plain.model_wrapper_cfg.device_ids is None and plain.model_wrapper_cfg.broadcast_buffers is False
