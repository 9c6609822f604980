"""Tests for cae_mm.checkpoints.reading: the one restricted reader of checkpoint files."""

import collections
import os
import re

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from cae_mm.checkpoints import CheckpointError, CheckpointReadError, read_checkpoint


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


def test_loads_plain_state_dict(tmp_path):
    """A plain state dict of tensors loads with equal keys and values."""
    state = collections.OrderedDict(weight=torch.randn(3, 4), bias=torch.zeros(3), step=torch.tensor(7))
    path = tmp_path / 'state.pth'
    torch.save(state, path)
    loaded = read_checkpoint(path)
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
    loaded = read_checkpoint(path)

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
    loaded = read_checkpoint(path)
    assert loaded['value'] == value
    np.testing.assert_array_equal(loaded['array'], [0, 1, 2])


@pytest.mark.parametrize('zipfile_format', [True, False])
def test_refuses_os_system_pickle(tmp_path, zipfile_format):
    """A pickle that calls ``os.system`` is refused with ``CheckpointReadError`` naming it, and never runs."""
    marker = tmp_path / 'FILE'
    path = tmp_path / 'evil.pth'
    torch.save({'x': SystemCall(f'echo pwned > {marker}')}, path, _use_new_zipfile_serialization=zipfile_format)
    qualified = f'{os.system.__module__}.system'
    with pytest.raises(
        CheckpointReadError,
        match=rf'refusing to load checkpoint {re.escape(str(path))}.*'
        rf'{re.escape(qualified)}',
    ):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    'owner, name', [(collections.OrderedDict, 'fromkeys'), (HistoryBuffer, 'update'), (HistoryBuffer, '__init__')]
)
def test_refuses_getattr_outside_history_buffer_statistics(tmp_path, owner, name):
    """``getattr`` is allowed only for HistoryBuffer's statistics methods; anything else is refused."""
    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetAttr(owner, name)}, path)
    with pytest.raises(CheckpointReadError, match=rf'refusing to load checkpoint .*({name}|{owner.__name__})'):
        read_checkpoint(path)


@pytest.mark.parametrize('name', ['min', 'max', 'mean', 'current'])
def test_allows_getattr_of_history_buffer_statistics(tmp_path, name):
    """``getattr(HistoryBuffer, name)`` for a statistics method loads to that method."""
    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetAttr(HistoryBuffer, name)}, path)
    assert read_checkpoint(path)['x'] is getattr(HistoryBuffer, name)


def valid_checkpoint_bytes(tmp_path, zipfile_format=True):
    path = tmp_path / 'valid.pth'
    torch.save(runner_like_checkpoint(), path, _use_new_zipfile_serialization=zipfile_format)
    return path.read_bytes()


def expect_read_error(path):
    with pytest.raises(CheckpointReadError, match=re.escape(str(path))):
        read_checkpoint(path)


def test_truncated_checkpoint_is_reported_with_its_path(tmp_path):
    """The first half of a valid checkpoint raises ``CheckpointReadError`` naming the file."""
    data = valid_checkpoint_bytes(tmp_path)
    path = tmp_path / 'truncated.pth'
    path.write_bytes(data[: len(data) // 2])
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
        read_checkpoint(path)


def test_directory_is_reported_as_missing_checkpoint(tmp_path):
    """A directory is not a checkpoint file and raises ``CheckpointReadError``."""
    expect_read_error(tmp_path)


def test_every_checkpoint_error_shares_one_base():
    """Read, mismatch, write, conversion and tokenizer errors are all ``CheckpointError`` (a RuntimeError)."""
    from cae_mm.checkpoints import (
        CheckpointConversionError,
        CheckpointMismatchError,
        CheckpointWriteError,
        TokenizerWeightsError,
    )

    for error in (
        CheckpointReadError,
        CheckpointMismatchError,
        CheckpointWriteError,
        CheckpointConversionError,
        TokenizerWeightsError,
    ):
        assert issubclass(error, CheckpointError) and issubclass(error, RuntimeError)


def test_counter_of_a_multistep_scheduler_loads(tmp_path):
    """``MultiStepLR`` keeps its milestones in a ``collections.Counter``: a detection runner checkpoint holds one."""
    path = tmp_path / 'epoch_1.pth'
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], 0.1), milestones=[8, 11]
    )
    torch.save({'param_schedulers': [scheduler.state_dict()]}, path)
    milestones = read_checkpoint(path)['param_schedulers'][0]['milestones']
    assert type(milestones) is collections.Counter and milestones == collections.Counter({8: 1, 11: 1})


def test_argparse_namespace_loads_as_an_inert_stand_in(tmp_path):
    """The official CAE checkpoints carry their ``argparse.Namespace``: kept as data, never constructed."""
    import argparse

    path = tmp_path / 'official.pth'
    torch.save({'model': {'w': torch.ones(1)}, 'args': argparse.Namespace(lr=0.1)}, path)
    loaded = read_checkpoint(path)
    assert not isinstance(loaded['args'], argparse.Namespace)
    assert loaded['args'].pickled_class == 'argparse.Namespace' and loaded['args'].state == {'lr': 0.1}


class WritesAFileWhenLoaded(torch.nn.Module):
    """A TorchScript module whose ``__setstate__`` (compiled into the archive) writes a file."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return self.marker, self.training

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.marker = state[0]
        self.training = state[1]
        torch.save(torch.zeros(1), state[0])


def torchscript_archive_that_writes(tmp_path):
    """A TorchScript archive whose loading writes ``marker``; proven to work with torch.jit.load itself."""
    marker = tmp_path / 'written_by_the_archive'
    path = tmp_path / 'model.pth'
    torch.jit.save(torch.jit.script(WritesAFileWhenLoaded(str(marker))), str(path))
    marker.unlink(missing_ok=True)
    return path, marker


def test_torchscript_code_really_runs_when_loaded_with_torch_jit(tmp_path):
    """The crafted archive does what the next test guards against (else that test would prove nothing)."""
    path, marker = torchscript_archive_that_writes(tmp_path)
    torch.jit.load(str(path))
    assert marker.exists()


def test_torchscript_archive_is_refused_before_its_code_runs(tmp_path):
    """torch.load with a pickle_module hands a TorchScript zip to torch.jit.load; the reader refuses it first."""
    path, marker = torchscript_archive_that_writes(tmp_path)
    with pytest.raises(CheckpointReadError, match=rf'refusing to load {re.escape(str(path))}: it is a TorchScript'):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    'header, looks_like',
    [(b'\x89PNG\r\n\x1a\n' + bytes(40), 'a PNG image'), (b'{"weights": [1, 2]}', 'a JSON text file')],
)
def test_foreign_file_says_what_it_looks_like(tmp_path, header, looks_like):
    path = tmp_path / 'weights.pth'
    path.write_bytes(header)
    with pytest.raises(CheckpointReadError, match=f'it looks like {looks_like}'):
        read_checkpoint(path)


@pytest.mark.parametrize(
    'content, found',
    [
        ({}, 'is an empty dict'),
        ([torch.ones(1)], 'is a list'),
        (torch.ones(2, 3), r'is a single tensor of shape \(2, 3\)'),
        ({'state_dict': {}}, "its 'state_dict' entry is an empty dict"),
        ({'w': [1, 2]}, r"not named tensors: \['w'\]"),
    ],
)
def test_weights_of_refuses_checkpoints_without_weights(content, found):
    from cae_mm.checkpoints import weights_of

    with pytest.raises(CheckpointReadError, match=f'x.pth holds no weights: .*{found}'):
        weights_of(content, 'x.pth')


def test_weights_of_unwraps_state_dict_and_model_entries():
    from cae_mm.checkpoints import weights_of

    weights = {'w': torch.ones(1)}
    assert weights_of({'state_dict': weights, 'meta': {}}, 'x') == weights
    assert weights_of({'model': weights, 'args': None}, 'x') == weights
    assert weights_of(weights, 'x') == weights
