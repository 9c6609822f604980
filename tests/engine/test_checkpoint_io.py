"""Tests for cae_mm.engine.checkpoint_io: atomic local writes and restricted checkpoint loading."""
import collections
import os
import re

import mmengine.fileio
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

import cae_mm  # noqa: F401  (installs the atomic backend and the safe loader)
from cae_mm.engine import CheckpointReadError, load_checkpoint_file
from cae_mm.engine.checkpoint_io import AtomicLocalBackend


class SystemCall:
    """Unpickles to ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class GetAttr:
    """Unpickles to ``getattr(owner, name)``."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


def directory_listing(folder):
    return sorted(path.name for path in folder.iterdir())


def test_put_writes_bytes_and_leaves_no_temporary_file(tmp_path):
    """``put`` writes the bytes, creates missing parent folders and leaves only the target file."""
    target = tmp_path / 'sub' / 'dir' / 'model.pth'
    AtomicLocalBackend().put(b'\x00checkpoint bytes\xff', target)
    assert target.read_bytes() == b'\x00checkpoint bytes\xff'
    assert directory_listing(target.parent) == ['model.pth']


def test_put_overwrites_existing_file(tmp_path):
    """A second ``put`` replaces the previous content."""
    target = tmp_path / 'model.pth'
    backend = AtomicLocalBackend()
    backend.put(b'first version, long', target)
    backend.put(b'second', str(target))
    assert target.read_bytes() == b'second'
    assert directory_listing(tmp_path) == ['model.pth']


def test_put_text_writes_text_atomically(tmp_path):
    """``put_text`` writes text in the given encoding and leaves no temporary file."""
    target = tmp_path / 'log.json'
    AtomicLocalBackend().put_text('température', target, encoding='latin-1')
    assert target.read_bytes() == 'température'.encode('latin-1')
    assert directory_listing(tmp_path) == ['log.json']


@pytest.mark.parametrize('method, payload', [('put', b'new bytes'), ('put_text', 'new text')])
def test_failed_write_keeps_the_previous_content(tmp_path, monkeypatch, method, payload):
    """If fsync fails midway the target keeps its old content, the error propagates and no temporary file remains."""
    target = tmp_path / 'model.pth'
    target.write_bytes(b'old content')

    def failing_fsync(fd):
        raise OSError('simulated fsync failure')

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='simulated fsync failure'):
        getattr(AtomicLocalBackend(), method)(payload, target)
    assert target.read_bytes() == b'old content'
    assert directory_listing(tmp_path) == ['model.pth']


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    """A failed write to a new path leaves neither the target nor a temporary file."""
    def failing_fsync(fd):
        raise OSError('no space')

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='no space'):
        AtomicLocalBackend().put(b'data', tmp_path / 'model.pth')
    assert directory_listing(tmp_path) == []


@pytest.mark.parametrize('enable_singleton', [False, True])
def test_mmengine_local_backend_is_atomic(enable_singleton):
    """After ``import cae_mm`` mmengine hands out the atomic backend for local paths."""
    backend = mmengine.fileio.get_file_backend('/tmp/x.pth', enable_singleton=enable_singleton)
    assert isinstance(backend, AtomicLocalBackend)


def test_mmengine_save_checkpoint_round_trips(tmp_path, monkeypatch):
    """mmengine's ``save_checkpoint`` writes through the atomic backend and ``CheckpointLoader`` reads it back."""
    from cae_mm.engine import checkpoint_io

    written = []
    original = checkpoint_io._atomic_write

    def recording_write(data, filepath, mode, encoding):
        written.append(str(filepath))
        original(data, filepath, mode, encoding)

    monkeypatch.setattr(checkpoint_io, '_atomic_write', recording_write)
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'a': torch.ones(2)}, path)
    assert written == [path]
    assert directory_listing(tmp_path) == ['epoch_1.pth']
    loaded = CheckpointLoader.load_checkpoint(path)
    assert list(loaded) == ['a']
    torch.testing.assert_close(loaded['a'], torch.ones(2))


def test_checkpoint_loader_uses_the_safe_loader(tmp_path):
    """mmengine's ``CheckpointLoader`` refuses a malicious local checkpoint with ``CheckpointReadError``."""
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': SystemCall(f'echo pwned > {marker}')}, path)
    with pytest.raises(CheckpointReadError, match=r'system'):
        CheckpointLoader.load_checkpoint(str(path))
    assert not marker.exists()


def test_loads_plain_state_dict(tmp_path):
    """A plain state dict of tensors loads with equal keys and values."""
    state = collections.OrderedDict(weight=torch.randn(3, 4), bias=torch.zeros(3), step=torch.tensor(7))
    path = tmp_path / 'state.pth'
    torch.save(state, path)
    loaded = load_checkpoint_file(path)
    assert list(loaded) == list(state)
    for name in state:
        torch.testing.assert_close(loaded[name], state[name])


def runner_like_checkpoint():
    history = HistoryBuffer([1.0, 2.0], [1, 1])
    history.update(6.0)
    assert history.mean() == pytest.approx(3.0)
    assert history.statistics('max') == 6.0
    return {
        'meta': {
            'epoch': 3,
            'seed': np.int64(42),
            'lr': np.float64(1.5e-3),
            'flag': np.bool_(True),
            'hist': np.arange(6, dtype=np.float32).reshape(2, 3),
            'ids': np.array([3, 1, 2]),
        },
        'state_dict': collections.OrderedDict(w=torch.randn(2, 2), b=torch.arange(3, dtype=torch.int16)),
        'message_hub': {'log_scalars': {'train/loss': history}},
    }


@pytest.mark.parametrize('zipfile_format', [True, False])
def test_loads_runner_checkpoint_with_numpy_and_history_buffer(tmp_path, zipfile_format):
    """Numpy arrays and scalars and a used ``HistoryBuffer`` load back with equal values and types."""
    original = runner_like_checkpoint()
    path = tmp_path / 'runner.pth'
    torch.save(original, path, _use_new_zipfile_serialization=zipfile_format)
    loaded = load_checkpoint_file(path)

    meta = loaded['meta']
    assert meta['epoch'] == 3
    assert type(meta['seed']) is np.int64 and meta['seed'] == 42
    assert type(meta['lr']) is np.float64 and meta['lr'] == 1.5e-3
    assert type(meta['flag']) is np.bool_ and bool(meta['flag'])
    np.testing.assert_array_equal(meta['hist'], original['meta']['hist'])
    assert meta['hist'].dtype == np.float32
    np.testing.assert_array_equal(meta['ids'], [3, 1, 2])
    for name, tensor in original['state_dict'].items():
        torch.testing.assert_close(loaded['state_dict'][name], tensor)

    history = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    np.testing.assert_array_equal(history.data[0], [1.0, 2.0, 6.0])
    np.testing.assert_array_equal(history.data[1], [1, 1, 1])
    assert history.mean() == pytest.approx(3.0)
    assert history.statistics('min') == 1.0
    assert history.current() == 6.0


@pytest.mark.parametrize('value', [{1, 2}, slice(0, 10, 2)], ids=['set', 'slice'])
def test_loads_sets_and_slices_next_to_numpy_data(tmp_path, value):
    """Sets and slices, which the allow-list names, load in a checkpoint that also holds numpy data."""
    path = tmp_path / 'mixed.pth'
    torch.save({'value': value, 'array': np.arange(3)}, path)
    loaded = load_checkpoint_file(path)
    assert loaded['value'] == value
    np.testing.assert_array_equal(loaded['array'], [0, 1, 2])


@pytest.mark.parametrize('zipfile_format', [True, False])
def test_refuses_os_system_pickle(tmp_path, zipfile_format):
    """A pickle that calls ``os.system`` is refused with ``CheckpointReadError`` naming it, and never runs."""
    marker = tmp_path / 'FILE'
    path = tmp_path / 'evil.pth'
    torch.save({'x': SystemCall(f'echo pwned > {marker}')}, path, _use_new_zipfile_serialization=zipfile_format)
    qualified = f'{os.system.__module__}.system'
    with pytest.raises(CheckpointReadError, match=rf'refusing to load checkpoint {re.escape(str(path))}.*'
                       rf'{re.escape(qualified)}'):
        load_checkpoint_file(path)
    assert not marker.exists()


@pytest.mark.parametrize('owner, name', [
    (collections.OrderedDict, 'fromkeys'),
    (HistoryBuffer, 'update'),
    (HistoryBuffer, '__init__'),
])
def test_refuses_getattr_outside_history_buffer_statistics(tmp_path, owner, name):
    """``getattr`` is allowed only for HistoryBuffer's statistics methods; anything else is refused."""
    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetAttr(owner, name)}, path)
    with pytest.raises(CheckpointReadError, match=rf'refusing to load checkpoint .*({name}|{owner.__name__})'):
        load_checkpoint_file(path)


@pytest.mark.parametrize('name', ['min', 'max', 'mean', 'current'])
def test_allows_getattr_of_history_buffer_statistics(tmp_path, name):
    """``getattr(HistoryBuffer, name)`` for a statistics method loads to that method."""
    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetAttr(HistoryBuffer, name)}, path)
    assert load_checkpoint_file(path)['x'] is getattr(HistoryBuffer, name)


def valid_checkpoint_bytes(tmp_path, zipfile_format=True):
    path = tmp_path / 'valid.pth'
    torch.save(runner_like_checkpoint(), path, _use_new_zipfile_serialization=zipfile_format)
    return path.read_bytes()


def expect_read_error(path):
    with pytest.raises(CheckpointReadError, match=re.escape(str(path))):
        load_checkpoint_file(path)


def test_truncated_checkpoint_is_reported_with_its_path(tmp_path):
    """The first half of a valid checkpoint raises ``CheckpointReadError`` naming the file."""
    data = valid_checkpoint_bytes(tmp_path)
    path = tmp_path / 'truncated.pth'
    path.write_bytes(data[:len(data) // 2])
    expect_read_error(path)


def test_every_prefix_of_a_zip_checkpoint_is_reported(tmp_path):
    """Any truncation of a (zip-format) checkpoint raises ``CheckpointReadError`` naming the file."""
    data = valid_checkpoint_bytes(tmp_path)
    path = tmp_path / 'truncated.pth'
    for length in range(0, len(data), max(1, len(data) // 60)):
        path.write_bytes(data[:length])
        expect_read_error(path)


def test_every_prefix_of_a_legacy_checkpoint_is_reported(tmp_path):
    """Any truncation of a legacy (non-zip) checkpoint raises ``CheckpointReadError`` naming the file."""
    data = valid_checkpoint_bytes(tmp_path, zipfile_format=False)
    path = tmp_path / 'truncated.pth'
    for length in range(0, len(data), max(1, len(data) // 60)):
        path.write_bytes(data[:length])
        expect_read_error(path)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_bytes_are_reported_with_their_path(tmp_path, seed):
    """A file of random bytes raises ``CheckpointReadError`` naming the file."""
    path = tmp_path / 'random.pth'
    path.write_bytes(np.random.default_rng(seed).bytes(256))
    expect_read_error(path)


@pytest.mark.parametrize('seed', [198, 218, 229])
def test_corrupt_bytes_that_confuse_the_unpickler_are_reported(tmp_path, seed):
    """Bytes that make the unpickler raise IndexError, KeyError or UnicodeDecodeError give CheckpointReadError."""
    path = tmp_path / 'random.pth'
    path.write_bytes(np.random.default_rng(seed).bytes(256))
    expect_read_error(path)


def test_empty_file_is_reported_with_its_path(tmp_path):
    """An empty file raises ``CheckpointReadError`` naming the file."""
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    expect_read_error(path)


def test_missing_file_is_reported_with_its_path(tmp_path):
    """A missing path raises ``CheckpointReadError`` saying it does not exist."""
    path = tmp_path / 'missing.pth'
    with pytest.raises(CheckpointReadError, match=rf'{re.escape(str(path))} does not exist'):
        load_checkpoint_file(path)


def test_directory_is_reported_as_missing_checkpoint(tmp_path):
    """A directory is not a checkpoint file and raises ``CheckpointReadError``."""
    expect_read_error(tmp_path)


def test_checkpoint_read_error_is_a_runtime_error():
    """``CheckpointReadError`` subclasses RuntimeError so existing handlers still catch it."""
    assert issubclass(CheckpointReadError, RuntimeError)
