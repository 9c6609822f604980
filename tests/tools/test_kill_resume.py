"""A real training process killed with SIGKILL again and again, at different points, ends with the same weights.

Every run below is a subprocess of tools/train.py on the tiny test config with drop path on (torch randomness) and the
block-wise mask generator (numpy randomness), a checkpoint every iteration. The interrupted run is killed

1. from outside, as soon as its second checkpoint appears (it dies somewhere inside a later iteration);
2. from inside, in the middle of writing a checkpoint (data written, not yet renamed);
3. from inside, after a checkpoint was renamed into place but while the ``last_checkpoint`` pointer is being written;

and resumed with ``--resume`` after each kill. It must end bit-identical to an uninterrupted run: weights, optimizer
moments, scheduler state, and every iteration's logged loss.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.registry import RUNNERS

from cae_mm.checkpoints import CheckpointReadError, read_checkpoint
from tests.conftest import REPO_ROOT, TEST_CONFIG
from tests.tools.tool_loading import load_tool

MAX_ITERS = 8

# Runs tools/train.py after arming a SIGKILL inside the process: at the fsync of the Nth temporary file of a checkpoint
# ('checkpoint') or of the pointer file ('pointer'). The fsync comes after the data is written and
# before the rename, so the kill lands in the middle of an atomic write.
LAUNCHER = """
import os, runpy, signal, sys
target_kind, count = sys.argv[1], int(sys.argv[2])
real_fsync, seen = os.fsync, []

def fsync_then_maybe_die(descriptor):
    real_fsync(descriptor)
    name = os.path.basename(os.readlink(f'/proc/self/fd/{descriptor}'))
    if name.endswith('.tmp') and name.startswith('.last_checkpoint.' if target_kind == 'pointer' else '.iter_'):
        seen.append(name)
        if len(seen) == count:
            os.kill(os.getpid(), signal.SIGKILL)

os.fsync = fsync_then_maybe_die
sys.argv = ['tools/train.py'] + sys.argv[3:]
runpy.run_path('tools/train.py', run_name='__main__')
"""


def train_command(work_dir: Path, data_root: Path, *extra: str) -> list[str]:
    return [
        str(TEST_CONFIG),
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root / "images"}',
        f'train_cfg.max_iters={MAX_ITERS}',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        *extra,
    ]


def start(arguments: list[str], launcher: tuple[str, ...] = ()) -> subprocess.Popen:
    prefix = [sys.executable, '-c', LAUNCHER, *launcher] if launcher else [sys.executable, 'tools/train.py']
    return subprocess.Popen(
        prefix + arguments, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen, expected_returncode: int) -> str:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == expected_returncode, output[-4000:]
    return output


def pointer(work_dir: Path) -> str:
    return Path((work_dir / 'last_checkpoint').read_text()).name


def newest_checkpoint_iteration(work_dir: Path) -> int:
    return max(int(path.stem.split('_')[1]) for path in work_dir.glob('iter_*.pth'))


def logged_losses(work_dir: Path) -> dict[int, float]:
    """Iteration -> loss over every run in the work dir (re-run iterations must log the same loss)."""
    losses: dict[int, float] = {}
    for scalars in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record:
                assert losses.setdefault(record['iter'], record['loss']) == record['loss'], record
    return losses


@pytest.mark.slow
def test_sigkill_anywhere_then_resume_gives_identical_weights(tmp_path, demo_data_root):
    reference_dir, killed_dir = tmp_path / 'uninterrupted', tmp_path / 'killed'
    reference = start(train_command(reference_dir, demo_data_root))

    # 1. Killed from outside right after a checkpoint appears: it dies somewhere in a later iteration.
    first = start(train_command(killed_dir, demo_data_root))
    deadline = time.monotonic() + 120
    while not (killed_dir / 'iter_2.pth').exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    finish(first, -signal.SIGKILL)
    resumed_from = newest_checkpoint_iteration(killed_dir)
    assert 2 <= resumed_from <= MAX_ITERS - 3, 'the first kill came too late to leave room for the others'

    # 2. Killed while writing its second checkpoint: only a temporary file of it exists, the pointer is unchanged.
    second = start(train_command(killed_dir, demo_data_root, '--resume'), launcher=('checkpoint', '2'))
    output = finish(second, -signal.SIGKILL)
    assert f'resumed epoch: 0, iter: {resumed_from}' in output
    half_written = f'iter_{resumed_from + 2}.pth'
    assert list(killed_dir.glob(f'.{half_written}.*.tmp')) and not (killed_dir / half_written).exists()
    assert pointer(killed_dir) == f'iter_{resumed_from + 1}.pth'

    # 3. Resumes from the last complete checkpoint (the temporary file is removed), then is killed while writing the
    #    pointer: the new checkpoint is complete but the pointer still names the previous one.
    third = start(train_command(killed_dir, demo_data_root, '--resume'), launcher=('pointer', '1'))
    output = finish(third, -signal.SIGKILL)
    assert f'resumed epoch: 0, iter: {resumed_from + 1}' in output
    assert not list(killed_dir.glob(f'.{half_written}.*.tmp'))
    assert (killed_dir / half_written).exists() and pointer(killed_dir) == f'iter_{resumed_from + 1}.pth'
    assert (killed_dir / 'last_checkpoint').read_text().strip(), 'the pointer must never be left empty'

    # 4. Resumes from the newest complete checkpoint, not the stale pointer, and finishes.
    output = finish(start(train_command(killed_dir, demo_data_root, '--resume')), 0)
    assert f'resumed epoch: 0, iter: {resumed_from + 2}' in output
    assert not [path for path in os.listdir(killed_dir) if path.endswith('.tmp')]

    finish(reference, 0)
    expected = read_checkpoint(reference_dir / f'iter_{MAX_ITERS}.pth')
    resumed = read_checkpoint(killed_dir / f'iter_{MAX_ITERS}.pth')
    for key, value in expected['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    for parameter_id, state in expected['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(resumed['optimizer']['state'][parameter_id][name], value), (parameter_id, name)
    assert resumed['param_schedulers'] == expected['param_schedulers']
    assert logged_losses(killed_dir) == logged_losses(reference_dir)
    assert len(logged_losses(reference_dir)) == MAX_ITERS


def resume_runner(work_dir: Path, data_root: Path, *flags: str):
    """The runner tools/train.py builds (cae_mm.Runner), before training."""
    train_tool = load_tool('train.py')
    cfg = train_tool.build_config(
        train_tool.parse_args(
            [
                str(TEST_CONFIG),
                '--work-dir',
                str(work_dir),
                *flags,
                '--cfg-options',
                f'train_dataloader.dataset.data_root={data_root / "images"}',
            ]
        )
    )
    return RUNNERS.build(cfg)


def test_resume_flag_picks_the_highest_complete_checkpoint_and_clears_partial_writes(tmp_path, demo_data_root):
    """iter_2 is damaged and iter_1 was touched last: --resume takes iter_1 by number, removes the partial write."""
    runner = resume_runner(tmp_path, demo_data_root, '--resume')
    torch.save({'meta': {'iter': 1}}, tmp_path / 'iter_1.pth')
    (tmp_path / 'iter_2.pth').write_bytes(b'half a checkpoint')
    (tmp_path / '.iter_3.pth.abc123.tmp').write_bytes(b'killed mid-write')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    chosen = []
    runner.resume = lambda filename: chosen.append(filename)
    runner.load_or_resume()
    assert chosen == [str(tmp_path / 'iter_1.pth')]
    assert not (tmp_path / '.iter_3.pth.abc123.tmp').exists()


def test_resume_from_a_named_corrupt_checkpoint_names_the_file(tmp_path, demo_data_root):
    checkpoint = tmp_path / 'iter_4.pth'
    torch.save({'meta': {'iter': 4}, 'state_dict': {}}, checkpoint)
    checkpoint.write_bytes(checkpoint.read_bytes()[:-40])
    runner = resume_runner(tmp_path / 'work', demo_data_root, '--resume', str(checkpoint))
    with pytest.raises(CheckpointReadError, match=f'cannot read checkpoint {checkpoint}: the file is truncated'):
        runner.train()


def test_resume_flag_in_a_new_work_dir_starts_fresh_and_fails_when_every_checkpoint_is_damaged(
    tmp_path, demo_data_root
):
    runner = resume_runner(tmp_path / 'new', demo_data_root, '--resume')
    runner.load_or_resume()
    assert not runner._has_loaded
    (tmp_path / 'iter_5.pth').write_bytes(b'')
    with pytest.raises(CheckpointReadError, match=r'no complete checkpoint .*iter_5\.pth \(empty file\)'):
        resume_runner(tmp_path, demo_data_root, '--resume').load_or_resume()
