"""Tests for cae_mm.checkpoints.writing: atomic replacement, umask permissions, and outputs that would lose data."""

import os
import stat

import pytest
import torch

from cae_mm.checkpoints import CheckpointWriteError, atomic_open, atomic_save, check_output_path, read_checkpoint


def listing(folder):
    return sorted(path.name for path in folder.iterdir())


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_written_files_get_the_mode_of_a_plain_open(tmp_path, umask):
    """mkstemp makes 0600 files; an atomic write gives what ``open(path, 'w')`` gives under the umask."""
    previous = os.umask(umask)
    try:
        atomic_save({'w': torch.ones(1)}, tmp_path / 'atomic.pth')
        with open(tmp_path / 'plain.pth', 'w'):
            pass
    finally:
        os.umask(previous)
    assert mode(tmp_path / 'atomic.pth') == mode(tmp_path / 'plain.pth') == 0o666 & ~umask


def test_write_creates_parents_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / 'sub' / 'dir' / 'model.pth'
    atomic_save({'w': torch.ones(2)}, target)
    torch.testing.assert_close(read_checkpoint(target)['w'], torch.ones(2))
    assert listing(target.parent) == ['model.pth']


@pytest.mark.parametrize('mode_, payload', [('wb', b'new bytes'), ('w', 'new text')])
def test_failed_write_keeps_the_previous_content(tmp_path, monkeypatch, mode_, payload):
    """If fsync fails midway (a full disk, a kill) the target keeps its old content and no temporary remains."""
    target = tmp_path / 'model.pth'
    target.write_bytes(b'old content')

    def failing_fsync(descriptor):
        raise OSError('simulated fsync failure')

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='simulated fsync failure'):
        with atomic_open(target, mode_) as file:
            file.write(payload)
    assert target.read_bytes() == b'old content'
    assert listing(tmp_path) == ['model.pth']


def test_writing_onto_a_folder_is_refused(tmp_path):
    with pytest.raises(CheckpointWriteError, match='it is a folder'):
        atomic_save({}, tmp_path)


def test_output_checks(tmp_path):
    source = tmp_path / 'iter_8.pth'
    source.write_bytes(b'checkpoint')
    with pytest.raises(CheckpointWriteError, match=r'is the input .*also with --force'):
        check_output_path(source, [source], force=True)
    with pytest.raises(CheckpointWriteError, match=r'is the input'):
        check_output_path(tmp_path / '.' / 'iter_8.pth', [source], force=True)
    (tmp_path / 'link.pth').symlink_to(source)
    with pytest.raises(CheckpointWriteError, match=r'is the input'):
        check_output_path(tmp_path / 'link.pth', [source], force=True)
    existing = tmp_path / 'backbone.pth'
    existing.write_bytes(b'x')
    with pytest.raises(CheckpointWriteError, match='exists: pass --force'):
        check_output_path(existing, [source])
    assert check_output_path(existing, [source], force=True) == existing
    with pytest.raises(CheckpointWriteError, match='is a folder: give a file name'):
        check_output_path(tmp_path, [source], force=True)
