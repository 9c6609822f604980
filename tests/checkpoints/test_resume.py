"""Tests for cae_mm.checkpoints.resume (which checkpoint --resume picks), the work dir lock and the atomic
``last_checkpoint`` pointer of cae_mm.CheckpointHook."""

import logging
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.fileio import LocalBackend

from cae_mm.checkpoints import (
    CheckpointHook,
    CheckpointReadError,
    CheckpointWriteError,
    find_resume_checkpoint,
    remove_partial_checkpoint_writes,
)
from cae_mm.checkpoints import resume
from cae_mm.checkpoints.resume import checkpoint_problem
from cae_mm.checkpoints.work_dir_lock import LOCK_FILE, acquire_work_dir_lock, release_work_dir_lock


def write_checkpoint(path: Path, iteration: int, age_seconds: float = 0.0) -> Path:
    """A small real checkpoint, with its modification time ``age_seconds`` in the past."""
    torch.save({'meta': {'iter': iteration}, 'state_dict': {'weight': torch.randn(64, 64)}}, path)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def point_to(work_dir: Path, checkpoint: Path) -> None:
    (work_dir / 'last_checkpoint').write_text(str(checkpoint))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_byte_in_the_tensor_data(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


def test_complete_checkpoint_has_no_problem(tmp_path):
    assert checkpoint_problem(write_checkpoint(tmp_path / 'iter_1.pth', 1)) is None


@pytest.mark.parametrize(
    'damage, expected',
    [
        (truncate, 'truncated'),
        (flip_byte_in_the_tensor_data, 'checksum mismatch'),
        (lambda path: path.write_bytes(b''), 'empty file'),
        (lambda path: path.write_bytes(b'not a checkpoint at all'), 'truncated or not a PyTorch'),
        (lambda path: path.unlink(), 'missing'),
    ],
    ids=['truncated', 'flipped-byte', 'empty', 'not-a-zip', 'missing'],
)
def test_damaged_checkpoint_problem_is_named(tmp_path, damage, expected):
    path = write_checkpoint(tmp_path / 'iter_1.pth', 1)
    damage(path)
    assert expected in checkpoint_problem(path)


def test_empty_work_dir_means_a_fresh_start(tmp_path):
    assert find_resume_checkpoint(tmp_path) is None
    assert find_resume_checkpoint(tmp_path / 'never_created') is None


def test_picks_the_pointer_target_when_it_is_the_newest(tmp_path):
    write_checkpoint(tmp_path / 'iter_1.pth', 1, age_seconds=20)
    newest = write_checkpoint(tmp_path / 'iter_2.pth', 2, age_seconds=10)
    point_to(tmp_path, newest)
    assert find_resume_checkpoint(tmp_path) == newest


def test_a_complete_checkpoint_newer_than_the_pointer_wins(tmp_path):
    """Killed between the checkpoint's rename and the pointer update: the newer complete file is used."""
    old = write_checkpoint(tmp_path / 'iter_1.pth', 1, age_seconds=20)
    newest = write_checkpoint(tmp_path / 'iter_2.pth', 2, age_seconds=10)
    point_to(tmp_path, old)
    assert find_resume_checkpoint(tmp_path) == newest


def test_a_corrupt_newest_checkpoint_falls_back_with_a_warning(tmp_path, monkeypatch):
    older = write_checkpoint(tmp_path / 'iter_4.pth', 4, age_seconds=20)
    newest = write_checkpoint(tmp_path / 'iter_8.pth', 8, age_seconds=10)
    truncate(newest)
    os.utime(newest, (time.time(), time.time()))
    point_to(tmp_path, newest)
    warnings = []
    monkeypatch.setattr(resume, 'print_log', lambda message, logger, level: warnings.append((message, level)))
    assert find_resume_checkpoint(tmp_path) == older
    assert warnings == [
        (f'not resuming from {newest}: truncated or not a PyTorch zip checkpoint; using {older}', logging.WARNING)
    ]


def test_a_touched_or_copied_old_checkpoint_does_not_win(tmp_path):
    """Modification times say nothing: a ``touch`` of iter_4 after iter_8 was written still resumes from iter_8."""
    write_checkpoint(tmp_path / 'iter_4.pth', 4, age_seconds=0)
    newest = write_checkpoint(tmp_path / 'iter_8.pth', 8, age_seconds=100)
    write_checkpoint(tmp_path / 'iter_12.pth', 12, age_seconds=50)
    truncate(tmp_path / 'iter_12.pth')
    point_to(tmp_path, tmp_path / 'iter_4.pth')
    assert find_resume_checkpoint(tmp_path) == newest


def test_numbers_compare_as_numbers_not_text(tmp_path):
    write_checkpoint(tmp_path / 'iter_9.pth', 9)
    newest = write_checkpoint(tmp_path / 'iter_10.pth', 10, age_seconds=30)
    assert find_resume_checkpoint(tmp_path) == newest


def test_a_pointer_target_of_another_name_counts_as_the_newest(tmp_path):
    """A custom ``filename_tmpl`` writes names without the number pattern; the pointer names the latest one."""
    write_checkpoint(tmp_path / 'iter_8.pth', 8)
    custom = write_checkpoint(tmp_path / 'model_step_12.pth', 12, age_seconds=30)
    point_to(tmp_path, custom)
    assert find_resume_checkpoint(tmp_path) == custom


def test_pointer_to_a_checkpoint_in_another_folder(tmp_path):
    """CheckpointHook(out_dir=...) puts checkpoints elsewhere; the pointer in the work dir leads there."""
    out_dir = tmp_path / 'elsewhere'
    out_dir.mkdir()
    write_checkpoint(out_dir / 'iter_1.pth', 1, age_seconds=20)
    newest = write_checkpoint(out_dir / 'iter_2.pth', 2, age_seconds=10)
    point_to(tmp_path, out_dir / 'iter_1.pth')
    assert find_resume_checkpoint(tmp_path) == newest


def test_no_complete_checkpoint_is_an_error_listing_each_file(tmp_path):
    """Checkpoints exist but all are damaged: refusing beats silently starting over."""
    first = write_checkpoint(tmp_path / 'iter_1.pth', 1)
    second = write_checkpoint(tmp_path / 'epoch_2.pth', 2)
    truncate(first)
    second.write_bytes(b'')
    with pytest.raises(CheckpointReadError, match='no complete checkpoint') as error:
        find_resume_checkpoint(tmp_path)
    assert f'{first} (truncated' in str(error.value) and f'{second} (empty file)' in str(error.value)


def test_a_pointer_to_a_deleted_checkpoint_is_an_error(tmp_path):
    point_to(tmp_path, tmp_path / 'iter_9.pth')
    with pytest.raises(CheckpointReadError, match=r'iter_9.pth \(missing\)'):
        find_resume_checkpoint(tmp_path)


def test_remove_partial_checkpoint_writes_removes_only_temporaries_of_checkpoints(tmp_path):
    keep = ['iter_3.pth', 'last_checkpoint', '.hidden.tmp', '.notes.txt.abc.tmp', 'iter_4.pth.tmp']
    remove = ['.iter_4.pth.k3j2h1.tmp', '.last_checkpoint.x9_y8.tmp', '.epoch_2.pth.a1b2c3.tmp']
    for name in keep + remove:
        (tmp_path / name).write_bytes(b'x')
    removed = remove_partial_checkpoint_writes(tmp_path)
    assert sorted(path.name for path in removed) == sorted(remove)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(keep)


def pointer_writing_runner(work_dir: Path) -> SimpleNamespace:
    """Just enough of a Runner for ``CheckpointHook._save_checkpoint_with_step`` to write the pointer."""
    return SimpleNamespace(
        work_dir=str(work_dir),
        message_hub=SimpleNamespace(update_info=lambda *args: None),
        save_checkpoint=lambda out_dir, filename, *args, **kwargs: Path(out_dir, filename).write_bytes(b'ckpt'),
    )


def checkpoint_hook(work_dir: Path) -> CheckpointHook:
    hook = CheckpointHook(interval=1, by_epoch=False)
    hook.out_dir = str(work_dir)
    hook.file_backend = LocalBackend()
    hook.keep_ckpt_ids = []
    return hook


def test_checkpoint_hook_writes_the_pointer_atomically(tmp_path, monkeypatch):
    """cae_mm's CheckpointHook writes ``last_checkpoint``; a failure mid-write keeps the previous pointer."""
    hook, runner = checkpoint_hook(tmp_path), pointer_writing_runner(tmp_path)
    hook._save_checkpoint_with_step(runner, 1, {})
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_1.pth')

    def failing_fsync(descriptor):
        raise OSError('simulated kill during the pointer write')

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='simulated kill'):
        hook._save_checkpoint_with_step(runner, 2, {})
    assert (tmp_path / 'iter_2.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_1.pth')
    assert not list(tmp_path.glob('.*.tmp'))


def test_work_dir_lock_refuses_a_live_owner_and_takes_over_a_dead_one(tmp_path, monkeypatch):
    """A live process's lock refuses a second run; a lock of a process that ended is taken over with a warning."""
    import subprocess
    import socket

    live = subprocess.Popen(['sleep', '30'])
    try:
        (tmp_path / LOCK_FILE).write_text(f'{live.pid} {socket.gethostname()}\n')
        with pytest.raises(CheckpointWriteError, match=rf'in use by a live training run \(process {live.pid}\)'):
            acquire_work_dir_lock(tmp_path)
    finally:
        live.kill()
        live.wait()
    warnings = []
    monkeypatch.setattr(
        'cae_mm.checkpoints.work_dir_lock.print_log', lambda message, logger, level: warnings.append(message)
    )
    lock = acquire_work_dir_lock(tmp_path)
    assert lock.read_text().split()[0] == str(os.getpid())
    assert f'from process {live.pid}, which no longer runs' in warnings[0]
    release_work_dir_lock(lock)
    assert not lock.exists()


def test_work_dir_lock_of_another_host_is_refused(tmp_path):
    (tmp_path / LOCK_FILE).write_text('123 some-other-host\n')
    with pytest.raises(CheckpointWriteError, match='in use by process 123 on some-other-host'):
        acquire_work_dir_lock(tmp_path)


def test_an_unreadable_lock_file_is_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text('not a pid\n')
    lock = acquire_work_dir_lock(tmp_path)
    assert lock.read_text().split()[0] == str(os.getpid())


def test_a_folder_named_like_a_checkpoint_is_skipped(tmp_path):
    (tmp_path / 'iter_9.pth').mkdir()
    older = write_checkpoint(tmp_path / 'iter_4.pth', 4)
    assert find_resume_checkpoint(tmp_path) == older


def test_a_copied_work_dir_resumes_its_own_checkpoints(tmp_path):
    """``cp -r run1 run2`` copies a pointer into run1; run1 then trains on: run2 resumes run2's iter_4, not run1's."""
    original, copy = tmp_path / 'run1', tmp_path / 'run2'
    original.mkdir()
    write_checkpoint(original / 'iter_4.pth', 4)
    point_to(original, original / 'iter_4.pth')
    shutil.copytree(original, copy)
    write_checkpoint(original / 'iter_8.pth', 8)
    assert find_resume_checkpoint(copy) == copy / 'iter_4.pth'
