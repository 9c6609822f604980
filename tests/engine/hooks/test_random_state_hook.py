"""Tests for cae_mm.RandomStateHook: generator states round-trip, and a resumed run is bit-identical."""

import io
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from cae_mm.checkpoints import read_checkpoint
from cae_mm.engine.hooks import RandomStateHook, capture_random_states, random_state_hook, restore_random_states
from tests.conftest import TEST_CONFIG


def draw_from_every_generator() -> tuple:
    return random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist()


def test_restore_repeats_the_same_draws():
    """Python, numpy (including its cached Gaussian) and torch repeat their draws after a restore."""
    np.random.randn()  # leaves a cached Gaussian in numpy's state
    states = capture_random_states()
    first = draw_from_every_generator()
    draw_from_every_generator()
    restore_random_states(states)
    assert draw_from_every_generator() == first


def test_states_load_with_weights_only():
    """The states are tensors and plain Python values: ``torch.load(weights_only=True)`` reads them back."""
    states = capture_random_states()
    expected = draw_from_every_generator()
    buffer = io.BytesIO()
    torch.save(states, buffer)
    buffer.seek(0)
    restore_random_states(torch.load(buffer, weights_only=True))
    assert draw_from_every_generator() == expected


def test_restore_waits_for_the_skipped_batches():
    """On resume of an iteration loop the states are restored right before the first batch that was not trained."""
    hook = RandomStateHook()
    states = capture_random_states()
    expected_draw = np.random.rand()
    drawn_by_transforms = []

    def batches():
        while True:
            drawn_by_transforms.append(np.random.rand())  # what a transform draws with num_workers=0
            yield len(drawn_by_transforms)

    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    loop._iter, loop._epoch, loop.dataloader_iterator = 3, 0, batches()
    hook.after_load_checkpoint(None, dict(meta=dict(epoch=0, iter=3), random_states=[states]))
    hook.before_train(SimpleNamespace(epoch=0, iter=3, train_loop=loop))
    assert [next(loop.dataloader_iterator) for _ in range(3)] == [1, 2, 3]  # mmengine's replay of trained batches
    assert next(loop.dataloader_iterator) == 4
    assert drawn_by_transforms[3] == expected_draw
    assert drawn_by_transforms[0] != expected_draw


def test_epoch_loop_restores_at_the_start_of_training():
    """Loops that do not replay batches get their states back in ``before_train``."""
    hook = RandomStateHook()
    states = capture_random_states()
    expected = draw_from_every_generator()
    hook.after_load_checkpoint(None, dict(meta=dict(epoch=2, iter=40), random_states=[states]))
    loop = EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)
    hook.before_train(SimpleNamespace(epoch=2, iter=40, train_loop=loop))
    assert draw_from_every_generator() == expected


def test_epoch_loop_with_persistent_workers_warns_that_augmentations_will_differ(monkeypatch):
    """Persistent workers' generators die with the killed run: the resume says it cannot restore them."""
    warnings = []
    monkeypatch.setattr(random_state_hook, 'print_log', lambda message, **kwargs: warnings.append(message))
    hook = RandomStateHook()
    hook.after_load_checkpoint(None, dict(meta=dict(epoch=2, iter=40), random_states=[capture_random_states()]))
    loop = EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)
    loop.dataloader = SimpleNamespace(num_workers=2, persistent_workers=True)
    hook.before_train(SimpleNamespace(epoch=2, iter=40, train_loop=loop))
    assert len(warnings) == 1 and 'persistent_workers=False' in warnings[0]


def test_loading_weights_for_a_new_run_does_not_touch_the_generators():
    """A checkpoint loaded with ``load_from`` (iteration 0 of a new run) leaves the seeded generators alone."""
    hook = RandomStateHook()
    saved = capture_random_states()
    draw_from_every_generator()
    hook.after_load_checkpoint(None, dict(meta=dict(epoch=0, iter=400), random_states=[saved]))
    now = capture_random_states()
    hook.before_train(SimpleNamespace(epoch=0, iter=0, train_loop=None))
    after_hook = draw_from_every_generator()
    restore_random_states(now)
    assert draw_from_every_generator() == after_hook


def test_validation_leaves_training_randomness_unchanged():
    """Whatever validation draws, training continues from the states it had before validation."""
    hook = RandomStateHook()
    runner = SimpleNamespace()
    states = capture_random_states()
    expected = draw_from_every_generator()
    restore_random_states(states)
    hook.before_val(runner)
    draw_from_every_generator()
    hook.after_val(runner)
    assert draw_from_every_generator() == expected


def train(
    work_dir: Path,
    data_root: Path,
    length: int,
    num_workers: int,
    loop: str = 'iteration',
    resume: bool = False,
    with_hook: bool = True,
) -> None:
    """Train the tiny test config in this process (drop path 0.1 everywhere).

    ``loop='iteration'``: ``length`` iterations, infinite sampler, persistent workers, a checkpoint every 4 iterations.
    ``loop='epoch'``: ``length`` epochs of 8 of the photographs (2 iterations each), re-created workers, a checkpoint
    every epoch.
    """
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{work_dir.name}-{length}-{resume}-{with_hook}'
    cfg.train_dataloader.dataset.data_root = str(data_root / 'images')
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = num_workers > 0 and loop == 'iteration'
    cfg.default_hooks.logger.interval = 100
    if loop == 'iteration':
        cfg.train_cfg.max_iters = length
    else:
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=length)
        cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
        cfg.train_dataloader.dataset.indices = 8
        cfg.default_hooks.checkpoint = dict(type='cae_mm.CheckpointHook', by_epoch=True, interval=1)
    cfg.resume = resume
    if not with_hook:
        cfg.custom_hooks = [hook for hook in cfg.custom_hooks if hook.type != 'cae_mm.RandomStateHook']
    RUNNERS.build(cfg).train()  # the config's cae_mm.Runner, which reads its own runner checkpoints


def weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)['state_dict']


def assert_identical(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


@pytest.mark.slow
@pytest.mark.parametrize('loop, num_workers', [('iteration', 0), ('iteration', 2), ('epoch', 2)])
def test_resume_with_drop_path_is_bit_identical(tmp_path, demo_data_root, loop, num_workers):
    """Training in one go == training half, stopping, resuming (drop path and masks drawn at random throughout).

    Iteration loop, ``num_workers=0``: the transforms draw from the main process's numpy, which mmengine's batch
    replay advances. Iteration loop with persistent workers: the workers replay their own streams. Epoch loop with
    workers: each epoch's workers are seeded afresh and nothing is replayed. Without the hook the resumed run differs.
    """
    assert Config.fromfile(TEST_CONFIG).model.backbone.drop_path_rate > 0
    full, half, final = (8, 4, 'iter_8.pth') if loop == 'iteration' else (3, 1, 'epoch_3.pth')
    train(tmp_path / 'uninterrupted', demo_data_root, full, num_workers, loop)
    train(tmp_path / 'stopped', demo_data_root, half, num_workers, loop)
    if (loop, num_workers) == ('iteration', 0):
        shutil.copytree(tmp_path / 'stopped', tmp_path / 'without_hook')
    train(tmp_path / 'stopped', demo_data_root, full, num_workers, loop, resume=True)
    expected = weights(tmp_path / 'uninterrupted' / final)
    assert_identical(weights(tmp_path / 'stopped' / final), expected)
    if (loop, num_workers) == ('iteration', 0):
        train(tmp_path / 'without_hook', demo_data_root, full, num_workers, loop, resume=True, with_hook=False)
        different = weights(tmp_path / 'without_hook' / final)
        assert any(not torch.equal(different[key], expected[key]) for key in expected)
