"""Checkpoint files that survive a kill mid-write, and that load without trusting arbitrary pickles.

Importing cae_mm installs both into mmengine:

* Writing: mmengine's local file backend is replaced by one whose ``put``/``put_text`` write a temporary file in the
  same folder, fsync it and rename it over the target, so a checkpoint is either complete or absent. mmengine's
  ``CheckpointHook`` writes the ``last_checkpoint`` pointer with a plain ``open(..., 'w')``, which a kill can leave
  empty; that module's ``open`` is pointed at :func:`atomic_open` for writes, so the pointer is replaced atomically too.
* Reading: local checkpoints load with ``torch.load(weights_only=True)`` when they are plain tensors; a checkpoint
  written by mmengine's Runner also holds numpy arrays and mmengine ``HistoryBuffer`` objects, which
  ``weights_only`` refuses (torch >= 2.6). Those go through an unpickler that resolves only a fixed list of classes
  and never runs anything else. Unreadable or truncated files raise :class:`CheckpointReadError` naming the file.
* Matching: mmengine loads ``load_from`` and ``Pretrained`` checkpoints with ``strict=False`` and logs the missing,
  unexpected and mis-shaped keys (fine-tuning drops heads on purpose). A checkpoint of which *no* key matches the
  model would load nothing at all and train from random weights behind a warning: that raises
  :class:`CheckpointMismatchError` instead.
"""
import builtins
import contextlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, Union

import mmengine.fileio.io
import mmengine.hooks.checkpoint_hook
import mmengine.runner.checkpoint
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader


class CheckpointReadError(RuntimeError):
    """A checkpoint file that cannot be read: missing, truncated, corrupt, or holding objects we refuse to load."""


class CheckpointMismatchError(ValueError):
    """A checkpoint that shares no parameter name with the model it is loaded into."""


class _RefusedGlobal(pickle.UnpicklingError):
    """The restricted unpickler met a global outside its allow-list."""


TEMPORARY_SUFFIX = '.tmp'


def temporary_name_prefix(filepath: Union[str, Path]) -> str:
    """The prefix of the temporary files an atomic write of ``filepath`` goes through (``.NAME.`` + random + ``.tmp``)."""
    return f'.{Path(filepath).name}.'


@contextlib.contextmanager
def atomic_open(filepath: Union[str, Path], mode: str = 'w', encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file next to ``filepath``; on a clean exit, fsync it and rename it over ``filepath``.

    Args:
        filepath: the file to (re)write.
        mode: ``'w'`` or ``'wb'``.
        encoding: text encoding for ``'w'``.

    Yields:
        The open temporary file. If the block raises (or the process dies), ``filepath`` keeps its old content.
    """
    filepath = Path(filepath)
    filepath.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=temporary_name_prefix(filepath), suffix=TEMPORARY_SUFFIX, dir=filepath.parent)
    try:
        with os.fdopen(handle, mode, encoding=encoding) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, filepath)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _atomic_write(data: Union[bytes, str], filepath: Union[str, Path], mode: str, encoding: str | None) -> None:
    with atomic_open(filepath, mode, encoding) as file:
        file.write(data)


def _open_writing_atomically(file: Any, mode: str = 'r', *args: Any, **kwargs: Any) -> Any:
    """``open`` for mmengine's checkpoint hook module: whole-file writes of a path go through :func:`atomic_open`."""
    if mode in ('w', 'wb') and isinstance(file, (str, os.PathLike)) and not args:
        return atomic_open(file, mode, kwargs.get('encoding'))
    return builtins.open(file, mode, *args, **kwargs)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend, writing by temporary file and rename."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        _atomic_write(obj, filepath, 'wb', None)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        _atomic_write(obj, filepath, 'w', encoding)


_HISTORY_BUFFER_ATTRIBUTES = frozenset({'min', 'max', 'mean', 'current'})


def _history_buffer_getattr(owner: Any, name: str) -> Any:
    """The one ``getattr`` a Runner checkpoint needs: HistoryBuffer's statistics methods (its method registry)."""
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_ATTRIBUTES:
        return getattr(owner, name)
    raise _RefusedGlobal(f'refusing getattr({owner!r}, {name!r}) while loading a checkpoint')


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals that mmengine Runner checkpoints are made of."""

    allowed = {
        ('collections', 'OrderedDict'): __import__('collections').OrderedDict,
        ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
        ('torch._utils', '_rebuild_parameter'): torch._utils._rebuild_parameter,
        ('torch', 'Size'): torch.Size,
        ('torch', 'device'): torch.device,
        ('numpy', 'ndarray'): __import__('numpy').ndarray,
        ('numpy', 'dtype'): __import__('numpy').dtype,
        ('numpy.core.multiarray', '_reconstruct'): __import__('numpy').core.multiarray._reconstruct,
        ('numpy.core.multiarray', 'scalar'): __import__('numpy').core.multiarray.scalar,
        ('_codecs', 'encode'): __import__('codecs').encode,
        ('mmengine.logging.history_buffer', 'HistoryBuffer'): HistoryBuffer,
        ('builtins', 'getattr'): _history_buffer_getattr,
        ('builtins', 'set'): builtins.set,
        ('builtins', 'slice'): builtins.slice,
    }

    def find_class(self, module: str, name: str) -> Any:
        # Protocol-2 pickles (torch.save's default) name the builtins module '__builtin__'.
        module = 'builtins' if module == '__builtin__' else module
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        if module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise _RefusedGlobal(f'checkpoint refers to {module}.{name}, which cae_mm does not load '
                                     '(only tensors, numpy arrays and mmengine log buffers are allowed)')


class _RestrictedPickleModule:
    """A ``pickle_module`` for ``torch.load`` whose Unpickler is restricted."""

    Unpickler = _RestrictedUnpickler
    UnpicklingError = pickle.UnpicklingError
    __name__ = 'cae_mm_restricted_pickle'

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return _RestrictedUnpickler(file, **kwargs).load()


def load_checkpoint_file(filename: Union[str, Path], map_location: Any = 'cpu') -> Any:
    """Load a local checkpoint safely.

    Args:
        filename: path of a file written by ``torch.save`` (a state dict or an mmengine Runner checkpoint).
        map_location: as for ``torch.load``.

    Returns:
        The loaded object.

    Raises:
        CheckpointReadError: the file is missing, truncated or corrupt, or refers to classes outside the allowed list.
    """
    path = Path(filename)
    if not path.is_file():
        raise CheckpointReadError(f'checkpoint {path} does not exist')
    # A damaged file can fail anywhere in the unpickler or the zip reader, with almost any exception type: every
    # failure becomes one error that names the file.
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        pass  # not plain tensors (or damaged): the restricted unpickler below tells which
    except Exception as error:
        raise _damaged(path, error) from error
    try:
        return torch.load(path, map_location=map_location, weights_only=False, pickle_module=_RestrictedPickleModule)
    except _RefusedGlobal as error:
        raise CheckpointReadError(f'refusing to load checkpoint {path}: {error}') from error
    except Exception as error:
        raise _damaged(path, error) from error


def _damaged(path: Path, error: BaseException) -> CheckpointReadError:
    return CheckpointReadError(f'cannot read checkpoint {path}: the file is truncated, corrupt or not a PyTorch '
                               f'checkpoint ({type(error).__name__}: {error})')


def _examples(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    return ', '.join(keys[:3]) + (', ...' if len(keys) > 3 else '')


def _prefix_hint(checkpoint_keys: set[str], model_keys: set[str]) -> str:
    """How to load a checkpoint whose keys would match after adding or removing a leading ``name.``."""
    for prefix in sorted({key.split('.', 1)[0] for key in checkpoint_keys if '.' in key}):
        if {key[len(prefix) + 1:] for key in checkpoint_keys if key.startswith(prefix + '.')} & model_keys:
            return (f"its keys start with '{prefix}.', which this model does not have: load it with "
                    f"init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='{prefix}.')")
    for prefix in sorted({key.split('.', 1)[0] for key in model_keys if '.' in key}):
        if {key[len(prefix) + 1:] for key in model_keys if key.startswith(prefix + '.')} & checkpoint_keys:
            return (f"it holds only the model's '{prefix}': load it there, "
                    f"{prefix}=dict(init_cfg=dict(type='Pretrained', checkpoint=PATH)), not with load_from")
    return 'it is a checkpoint of another model'


def _load_state_dict_requiring_overlap(module: torch.nn.Module, state_dict: Mapping[str, Any], strict: bool = False,
                                       logger: Any = None) -> None:
    """mmengine's ``load_state_dict``, refusing a checkpoint that would load nothing into ``module``."""
    unwrapped = module.module if is_model_wrapper(module) else module
    checkpoint_keys, model_keys = set(state_dict), set(unwrapped.state_dict())
    if checkpoint_keys and model_keys and not checkpoint_keys & model_keys:
        raise CheckpointMismatchError(
            f'none of the {len(checkpoint_keys)} tensors in the checkpoint matches a parameter of '
            f'{type(unwrapped).__name__}, so nothing would be loaded: {_prefix_hint(checkpoint_keys, model_keys)} '
            f'(checkpoint keys: {_examples(checkpoint_keys)}; model keys: {_examples(model_keys)})')
    _mmengine_load_state_dict(module, state_dict, strict, logger)


_mmengine_load_state_dict = mmengine.runner.checkpoint.load_state_dict


def install() -> None:
    """Make mmengine write local files (checkpoints and the ``last_checkpoint`` pointer) atomically, and load local
    checkpoints with :func:`load_checkpoint_file`."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # A module global shadows the builtin for that module only: the hook's one `open` writes the pointer file.
    mmengine.hooks.checkpoint_hook.open = _open_writing_atomically
    for key, backend in list(mmengine.fileio.io.backend_instances.items()):
        if type(backend) is LocalBackend:
            del mmengine.fileio.io.backend_instances[key]

    def load_from_local(filename: str, map_location: Any = 'cpu') -> Any:
        # mmengine logs the loader's name after 'load_from_': this reads "by local backend".
        return load_checkpoint_file(filename, map_location)

    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)
    # mmengine's load_checkpoint and its Pretrained initialiser look the function up in this module at call time.
    mmengine.runner.checkpoint.load_state_dict = _load_state_dict_requiring_overlap
