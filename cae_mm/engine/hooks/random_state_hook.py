"""Save the random generators with every checkpoint and restore them on resume, so that resuming is exact."""

import logging
import random
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from cae_mm.registry import HOOKS

CHECKPOINT_KEY = 'random_states'

RandomStates = dict[str, Any]


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


def capture_random_states() -> RandomStates:
    """The states of Python's, numpy's and torch's global generators as tensors and plain lists (no numpy pickles),
    under ``python``, ``numpy``, ``torch`` and, when CUDA is initialised, ``cuda`` (one state per device)."""
    python_version, python_internal, python_gauss = random.getstate()
    numpy_algorithm, numpy_keys, numpy_position, numpy_has_gauss, numpy_cached_gaussian = np.random.get_state()
    states = dict(
        python=dict(version=python_version, internal=list(python_internal), gauss_next=python_gauss),
        numpy=dict(
            algorithm=numpy_algorithm,
            keys=numpy_keys.tolist(),
            position=int(numpy_position),
            has_gauss=int(numpy_has_gauss),
            cached_gaussian=float(numpy_cached_gaussian),
        ),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: RandomStates) -> None:
    """Set the global generators to ``states`` from :func:`capture_random_states` (CUDA only for as many devices)."""
    python = states['python']
    random.setstate((python['version'], tuple(python['internal']), python['gauss_next']))
    numpy = states['numpy']
    keys = np.asarray(numpy['keys'], dtype=np.uint32)
    np.random.set_state((numpy['algorithm'], keys, numpy['position'], numpy['has_gauss'], numpy['cached_gaussian']))
    torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        if len(states['cuda']) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([state.cpu() for state in states['cuda']])
        else:
            _warn(
                f'the checkpoint holds CUDA generator states for {len(states["cuda"])} devices, this process sees '
                f'{torch.cuda.device_count()}: CUDA randomness is not restored'
            )


class _RestoreAfterSkippedBatches:
    """Lets ``batches_to_skip`` batches through, then calls ``restore`` before the next."""

    def __init__(self, iterator: Iterator, batches_to_skip: int, restore: Callable[[], None]) -> None:
        self.iterator = iterator
        self.batches_to_skip = batches_to_skip
        self.restore: Optional[Callable[[], None]] = restore

    def __iter__(self) -> '_RestoreAfterSkippedBatches':
        return self

    def __next__(self) -> Any:
        if self.batches_to_skip > 0:
            self.batches_to_skip -= 1
        elif self.restore is not None:
            self.restore()
            self.restore = None
        return next(self.iterator)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Saves every rank's generator states in ``checkpoint['random_states']``; on resume restores them right before
    the first new batch (after the iteration loop's replay of trained batches), and undoes validation's draws.

    Resuming is bit-identical with a fixed seed, the same world size and ``num_workers``, no lower-priority hook
    drawing random numbers in ``after_train_iter``, deterministic kernels, and no persistent workers in epoch-based
    loops; otherwise it warns. Only checkpoints written by ``CheckpointHook`` hold every rank's states.
    """

    # Before CheckpointHook (VERY_LOW): states are gathered on every rank, then saved on rank 0 only.
    priority = 'LOW'

    def __init__(self) -> None:
        self._loaded_states: Optional[list[RandomStates]] = None
        self._loaded_position: Optional[tuple[int, int]] = None
        self._states_before_validation: Optional[RandomStates] = None
        self._gathered_states: Optional[list[RandomStates]] = None

    @staticmethod
    def _checkpoint_due(runner: Any, by_epoch: bool) -> bool:
        """Whether CheckpointHook will save at the end of this iteration (or epoch), by its own rule."""
        hook = next((hook for hook in runner.hooks if isinstance(hook, CheckpointHook)), None)
        if hook is None or hook.by_epoch != by_epoch:
            return False
        every, is_last = (
            (hook.every_n_epochs, hook.is_last_train_epoch)
            if by_epoch
            else (hook.every_n_train_iters, hook.is_last_train_iter)
        )
        return every(runner, hook.interval, hook.save_begin) or (hook.save_last and is_last(runner))

    def _gather_if_checkpoint_due(self, runner: Any, by_epoch: bool) -> None:
        if get_world_size() > 1 and self._checkpoint_due(runner, by_epoch):
            self._gathered_states = all_gather_object(capture_random_states())

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self._gather_if_checkpoint_due(runner, by_epoch=False)

    def after_train_epoch(self, runner: Any) -> None:
        self._gather_if_checkpoint_due(runner, by_epoch=True)

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self._gathered_states or [capture_random_states()]
        self._gathered_states = None

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._loaded_states = checkpoint.get(CHECKPOINT_KEY)
        self._loaded_position = (meta.get('epoch', 0), meta.get('iter', 0))

    def _states_of_this_rank(self) -> Optional[RandomStates]:
        if self._loaded_states is None:
            _warn(
                'the resumed checkpoint holds no random generator states (it was written without '
                'cae_mm.RandomStateHook): training continues, but not bit-identically'
            )
            return None
        if len(self._loaded_states) != get_world_size():
            _warn(
                f'the checkpoint was written by {len(self._loaded_states)} processes, this run has '
                f'{get_world_size()}: random generator states are not restored'
            )
            return None
        return self._loaded_states[get_rank()]

    def before_train(self, runner: Any) -> None:
        resumed = (runner.epoch, runner.iter) != (0, 0) and (runner.epoch, runner.iter) == self._loaded_position
        if not resumed:
            return
        states = self._states_of_this_rank()
        self._loaded_states, self._loaded_position = None, None
        if states is None:
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreAfterSkippedBatches(
                loop.dataloader_iterator, loop.iter, lambda: restore_random_states(states)
            )
            return
        restore_random_states(states)
        dataloader = getattr(loop, 'dataloader', None)
        if getattr(dataloader, 'num_workers', 0) > 0 and getattr(dataloader, 'persistent_workers', False):
            _warn(
                'resuming an epoch-based loop with persistent data loader workers: their random generators '
                'restart from the seed, so augmentations differ from an uninterrupted run (set '
                'persistent_workers=False for a bit-identical resume)'
            )

    def before_val(self, runner: Any) -> None:
        self._states_before_validation = capture_random_states()

    def after_val(self, runner: Any) -> None:
        if self._states_before_validation is not None:
            restore_random_states(self._states_before_validation)
            self._states_before_validation = None
