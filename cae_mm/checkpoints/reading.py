"""The one reader of checkpoint files (:func:`read_checkpoint`); it never runs code from the file."""

from pathlib import Path
from typing import IO, Any, Collection, Mapping, Optional, Union

import torch

from .errors import CheckpointReadError
from .unpickling import RefusedGlobalError, restricted_pickle_module

ZIP_MAGIC = b'PK\x03\x04'
_OTHER_FORMATS = {
    b'\x89PNG': 'a PNG image',
    b'\xff\xd8\xff': 'a JPEG image',
    b'\x93NUMPY': 'a numpy .npy array',
    b'GIF8': 'a GIF image',
    b'\x1f\x8b': 'a gzip archive',
}


def _looks_like(head: bytes) -> str:
    """What a non-checkpoint file seems to be, from its first bytes."""
    for magic, description in _OTHER_FORMATS.items():
        if head.startswith(magic):
            return description
    if len(head) >= 9 and head[8:9] == b'{':
        return 'a safetensors file (load it with safetensors.torch.load_file and torch.save the dict)'
    if head[:1] in (b'{', b'['):
        return 'a JSON text file'
    if head[:1] == b'<':
        return 'an HTML or XML text file (a download that returned an error page?)'
    return 'not a PyTorch checkpoint'


def _is_torchscript(file: IO[bytes], path: Path) -> bool:
    """Whether a zip checkpoint is a TorchScript archive (read with torch.load's own zip reader)."""
    try:
        records = torch._C.PyTorchFileReader(file).get_all_records()
    except Exception as error:
        raise _damaged(path, error, 'a damaged zip archive') from error
    finally:
        file.seek(0)
    # torch.load dispatches to torch.jit.load on 'constants.pkl'.
    return any(record == 'constants.pkl' or record.startswith(('code/', '.data/ts_code/')) for record in records)


def read_checkpoint(path: Union[str, Path], extra_globals: Optional[Mapping[tuple[str, str], Any]] = None) -> Any:
    """Read the ``torch.save`` file ``path`` with the restricted unpickler, tensors on the CPU; ``extra_globals`` are
    further ``(module, name) -> object`` to resolve (e.g. :func:`.unpickling.stand_in_for`).

    Raises:
        CheckpointReadError: missing, a folder, TorchScript, a class outside the allowed ones, truncated or corrupt.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointReadError(f'checkpoint {path} is a folder, not a checkpoint file: name the .pth file in it')
    if not path.is_file():
        raise CheckpointReadError(f'checkpoint {path} does not exist')
    try:
        file = open(path, 'rb')
    except OSError as error:
        raise CheckpointReadError(f'cannot open checkpoint {path}: {error}') from error
    with file:
        head = file.read(16)
        file.seek(0)
        if not head:
            raise CheckpointReadError(f'cannot read checkpoint {path}: the file is empty')
        if head.startswith(ZIP_MAGIC) and _is_torchscript(file, path):
            raise CheckpointReadError(
                f'refusing to load {path}: it is a TorchScript archive (torch.jit.save), which holds code that loading '
                'would run, not a checkpoint of weights. Save the weights with torch.save(model.state_dict(), PATH)'
            )
        try:
            return torch.load(
                file, map_location='cpu', weights_only=False, pickle_module=restricted_pickle_module(extra_globals)
            )
        except RefusedGlobalError as error:
            raise CheckpointReadError(
                f'refusing to load checkpoint {path}: it refers to {error.qualified_name}, which cae_mm does not load '
                '(only tensors, numpy arrays, mmengine log buffers and scheduler counters); nothing from the file was '
                'run'
            ) from error
        except Exception as error:
            raise _damaged(
                path, error, 'a damaged zip checkpoint' if head.startswith(ZIP_MAGIC) else _looks_like(head)
            ) from error


def _damaged(path: Path, error: BaseException, looks_like: str) -> CheckpointReadError:
    return CheckpointReadError(
        f'cannot read checkpoint {path}: the file is truncated, corrupt or not a PyTorch '
        f'checkpoint (it looks like {looks_like}; {type(error).__name__}: {error})'
    )


def describe(value: Any) -> str:
    """What ``value`` (a loaded checkpoint or an entry of it) holds, in a few words, for error messages."""
    if isinstance(value, Mapping):
        if not value:
            return 'an empty dict'
        keys = sorted(map(str, value))
        return f'a dict with keys {keys[:8]}' + (f' and {len(keys) - 8} more' if len(keys) > 8 else '')
    if isinstance(value, torch.Tensor):
        return f'a single tensor of shape {tuple(value.shape)}'
    return f'a {type(value).__name__}'


def weights_of(
    checkpoint: Any, source: Union[str, Path], container_keys: Collection[str] = ('state_dict', 'model')
) -> dict[str, torch.Tensor]:
    """The non-empty ``{name: tensor}`` of a loaded checkpoint: under a container key, or the checkpoint itself.

    Args:
        checkpoint: what :func:`read_checkpoint` returned.
        source: the file, for error messages.
        container_keys: keys that may hold the state dict, tried in order.

    Raises:
        CheckpointReadError: no non-empty dict of named tensors.
    """
    weights, where = checkpoint, 'the checkpoint'
    if isinstance(checkpoint, Mapping):
        for key in container_keys:
            if key in checkpoint:
                weights, where = checkpoint[key], f"its '{key}' entry"
                break
    problem = None
    if not isinstance(weights, Mapping) or not weights:
        problem = f'{where} is {describe(weights)}'
    else:
        not_tensors = sorted(
            str(key)
            for key, value in weights.items()
            if not isinstance(key, str) or not isinstance(value, torch.Tensor)
        )
        if not_tensors:
            problem = f'{where} has entries that are not named tensors: {not_tensors[:5]}'
    if problem:
        raise CheckpointReadError(
            f'{source} holds no weights: {problem}. Expected a state dict of tensors, alone or under one of '
            f'{list(container_keys)} (as torch.save(model.state_dict()) and mmengine checkpoints hold them)'
        )
    return dict(weights)
