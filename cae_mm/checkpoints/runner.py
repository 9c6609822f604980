"""mmengine's Runner and FlexibleRunner with checked checkpoint loading and resuming, atomic saving and a work dir
lock (``runner_type='cae_mm.Runner'`` or ``'cae_mm.FlexibleRunner'``)."""

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

import torch
from mmengine.dist import broadcast, broadcast_object_list, is_main_process
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import FlexibleRunner as MMEngineFlexibleRunner
from mmengine.runner import Runner as MMEngineRunner
from mmengine.runner.checkpoint import CheckpointLoader

from cae_mm.registry import RUNNERS
from .errors import CheckpointReadError, CheckpointWriteError
from .matching import require_exact_match, require_optimizer_match, require_overlap
from .reading import describe, read_checkpoint, weights_of
from .resume import find_resume_checkpoint, remove_partial_checkpoint_writes
from .work_dir_lock import acquire_work_dir_lock, release_work_dir_lock
from .writing import atomic_path

CHECKED_LOCAL_PREFIX = 'cae_mm_checked://'
"""``CheckpointLoader`` scheme the runners put on local paths, read by :func:`read_checkpoint`."""

_already_read: dict[str, Any] = {}
"""Checked checkpoints handed to the loader scheme, so that a file is read once."""

FSDP_PREFIX = '_fsdp_wrapped_module.'


@CheckpointLoader.register_scheme(prefixes=CHECKED_LOCAL_PREFIX)
def load_from_cae_mm_reader(filename: str, map_location: Any = 'cpu') -> Any:
    """``CheckpointLoader`` scheme: the local file ``filename`` (``CHECKED_LOCAL_PREFIX`` + path) through
    :func:`read_checkpoint`; tensors stay on the CPU whatever ``map_location``."""
    path = filename[len(CHECKED_LOCAL_PREFIX) :]
    checkpoint = _already_read[path] if path in _already_read else read_checkpoint(path)
    # mmengine's strategies pop entries of what they get: hand out a copy of the top level.
    return dict(checkpoint) if isinstance(checkpoint, dict) else checkpoint


@contextlib.contextmanager
def _handing_over(path: str) -> Iterator[tuple[Any, str]]:
    """The checkpoint at ``path``, read once, and the name under which mmengine's loader gets it."""
    if path not in _already_read:
        _already_read[path] = read_checkpoint(path)
    try:
        yield _already_read[path], CHECKED_LOCAL_PREFIX + path
    finally:
        _already_read.pop(path, None)


def _local_path(filename: Union[str, Path]) -> Optional[str]:
    """The local path of a checkpoint name; None for a URL or another scheme (left to mmengine)."""
    filename = str(filename)
    if filename.startswith(CHECKED_LOCAL_PREFIX):
        return filename[len(CHECKED_LOCAL_PREFIX) :]
    return None if '://' in filename else filename


class CheckpointSafeRunnerMixin:
    """Checked loading and resuming, atomic local saving and the work dir lock held while training, for both runners."""

    def _plain_model(self) -> torch.nn.Module:
        return self.model.module if is_model_wrapper(self.model) else self.model

    def _is_sharded(self) -> bool:
        return any(FSDP_PREFIX in name for name, _ in self._plain_model().named_modules())

    def train(self) -> torch.nn.Module:
        lock = self._lock_work_dir()
        try:
            return super().train()
        finally:
            if lock is not None:
                release_work_dir_lock(lock)

    def _lock_work_dir(self) -> Optional[Path]:
        # Every process learns process 0's outcome, so none waits in a collective for one that stopped.
        lock, refusal = None, ''
        if is_main_process():
            try:
                lock = acquire_work_dir_lock(self.work_dir)
            except CheckpointWriteError as error:
                refusal = str(error)
        outcome = [refusal]
        broadcast_object_list(outcome)
        if outcome[0]:
            raise CheckpointWriteError(outcome[0])
        return lock

    def load_or_resume(self) -> None:
        """mmengine's choice of resume or ``load_from``; ``resume=True`` takes :func:`find_resume_checkpoint`."""
        if self._has_loaded:
            return
        resume_from = self._resume if isinstance(self._resume, str) else (self._load_from if self._resume else None)
        if self._resume and resume_from is None:
            if is_main_process():
                remove_partial_checkpoint_writes(self.work_dir)
            found = find_resume_checkpoint(self.work_dir)
            resume_from = str(found) if found is not None else None
            self.logger.info(
                f'resuming from {resume_from}'
                if resume_from
                else f'no checkpoint in {self.work_dir}: starting from the beginning'
            )
        if resume_from is not None:
            self.resume(resume_from)
            self._has_loaded = True
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)
            self._has_loaded = True

    def resume(
        self,
        filename: str,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location: Union[str, Callable] = 'default',
    ) -> None:
        """mmengine's ``resume`` (same arguments), after checking that ``filename`` is a training checkpoint of this
        model and, with ``resume_optimizer``, of this optimizer.

        Raises:
            CheckpointReadError: unreadable, or not a training checkpoint (no ``meta``, weights or message hub).
            CheckpointMismatchError: other tensors or shapes than the model's, or another optimizer layout.
        """
        path = _local_path(filename)
        if path is None:
            return super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        with _handing_over(path) as (checkpoint, scheme_name):
            self._check_resumable(checkpoint, path, resume_optimizer)
            return super().resume(scheme_name, resume_optimizer, resume_param_scheduler, map_location)

    def _check_resumable(self, checkpoint: Any, path: str, check_optimizer: bool) -> None:
        absent = [
            key
            for key in ('meta', 'state_dict', 'message_hub')
            if not isinstance(checkpoint, dict) or key not in checkpoint
        ]
        if absent:
            raise CheckpointReadError(
                f'{path} is not a training checkpoint: it is {describe(checkpoint)}, without {absent}. --resume needs '
                'a checkpoint written by training; to start a new run from its weights use load_from (or init_cfg)'
            )
        meta = checkpoint['meta']
        if not isinstance(meta, dict) or not {'iter', 'epoch'} <= set(meta):
            raise CheckpointReadError(f"{path} is not a training checkpoint: its 'meta' has no iter and epoch")
        weights = weights_of(checkpoint, path)
        if self._is_sharded():
            return  # FSDP gathers a full state dict only collectively; the strategy checks names when it loads
        model = self._plain_model()
        weights = {key.removeprefix('module.'): value for key, value in weights.items()}
        require_exact_match(
            weights,
            model.state_dict(),
            path,
            f'the model of this run ({type(model).__name__})',
            hint='resume only from a checkpoint of the same config; to start another model from these weights use '
            'load_from',
        )
        if check_optimizer and 'optimizer' in checkpoint and isinstance(self.optim_wrapper, OptimWrapper):
            require_optimizer_match(checkpoint['optimizer'], self.optim_wrapper.optimizer, path)

    def load_checkpoint(
        self,
        filename: str,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: Optional[list] = None,
    ) -> Any:
        """mmengine's ``load_checkpoint`` (same arguments; non-strict: heads may differ), refusing a file no tensor of
        which matches the model.

        Raises:
            CheckpointReadError: unreadable, or no weights.
            CheckpointMismatchError: no tensor of the checkpoint matches the model.
        """
        revise_keys = [(r'^module.', '')] if revise_keys is None else revise_keys
        path = _local_path(filename)
        if path is None:
            return super().load_checkpoint(filename, map_location=map_location, strict=strict, revise_keys=revise_keys)
        with _handing_over(path) as (checkpoint, scheme_name):
            weights = weights_of(checkpoint, path)
            if not self._is_sharded():
                require_overlap(weights, self._plain_model(), path)
            return super().load_checkpoint(
                scheme_name, map_location=map_location, strict=strict, revise_keys=revise_keys
            )

    def save_checkpoint(
        self, out_dir: str, filename: str, file_client_args: Optional[dict] = None, **kwargs: Any
    ) -> None:
        sharded_files = not getattr(getattr(self, 'strategy', None), '_is_full_state_dict', lambda: True)()
        remote = '://' in str(out_dir) or file_client_args is not None or kwargs.get('backend_args') is not None
        if remote or sharded_files or not is_main_process():
            return super().save_checkpoint(out_dir, filename, file_client_args, **kwargs)
        with atomic_path(Path(out_dir) / filename) as temporary:
            super().save_checkpoint(out_dir, temporary.name, file_client_args, **kwargs)


@RUNNERS.register_module()
class Runner(CheckpointSafeRunnerMixin, MMEngineRunner):
    """mmengine's ``Runner`` with cae_mm's checkpoint handling; a second run in the same second logs to ``<time>_1``."""

    def setup_env(self, env_cfg: dict) -> None:
        super().setup_env(env_cfg)
        suffix = torch.zeros(1, dtype=torch.int64)
        if is_main_process():
            while self._timestamp_taken(self._timestamp_with(int(suffix))):
                suffix += 1
        broadcast(suffix)
        self._timestamp = self._timestamp_with(int(suffix))

    def _timestamp_with(self, suffix: int) -> str:
        return self._timestamp if suffix == 0 else f'{self._timestamp}_{suffix}'

    def _timestamp_taken(self, timestamp: str) -> bool:
        return Path(self._work_dir, timestamp).exists() or any(
            name == timestamp or name.endswith(f'_{timestamp}') for name in MMLogger._instance_dict
        )


@RUNNERS.register_module()
class FlexibleRunner(CheckpointSafeRunnerMixin, MMEngineFlexibleRunner):
    """mmengine's ``FlexibleRunner`` (FSDP etc.) with cae_mm's checkpoint handling."""
