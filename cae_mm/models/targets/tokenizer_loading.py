"""Reading a tokenizer's weights file into a flat ``{name: tensor}`` dict, with errors that say how to fix the file.

Two layouts are read: a state dict saved with ``torch.save`` (optionally inside one container key such as
``'state_dict'`` or ``'weights'``), and a whole pickled ``nn.Module`` (OpenAI's ``encoder.pkl``). The module is read
with :func:`cae_mm.utils.restricted_unpickling.load_with_allowed_globals`: only the class names the caller lists
resolve, to stand-ins, and the tensors are collected from their pickled ``_parameters`` / ``_buffers`` / ``_modules``.
"""
from pathlib import Path
from typing import Any, Collection, Union

import torch

from cae_mm.utils.restricted_unpickling import (RefusedGlobalError, StandIn, load_with_allowed_globals,
                                                refused_by_weights_only, stand_in_for)


class TokenizerWeightsError(RuntimeError):
    """A tokenizer weights file that is missing, unreadable, of the wrong format, or for another architecture."""


def pickled_module_tensors(root: StandIn, prefix: str = '') -> dict[str, torch.Tensor]:
    """The state dict of an unpickled ``nn.Module`` tree, read from its stand-ins' pickled ``__dict__``.

    Args:
        root: the stand-in of the pickled module.
        prefix: name prefix for the keys (used by the recursion).

    Returns:
        ``{'child.name.parameter': tensor}``, as ``nn.Module.state_dict()`` would name them (non-persistent buffers
        excluded).
    """
    state = root.state if isinstance(root.state, dict) else {}
    tensors = {}
    for name, tensor in (state.get('_parameters') or {}).items():
        if tensor is not None:
            tensors[prefix + name] = tensor
    non_persistent = state.get('_non_persistent_buffers_set') or set()
    for name, tensor in (state.get('_buffers') or {}).items():
        if tensor is not None and name not in non_persistent:
            tensors[prefix + name] = tensor
    for name, child in (state.get('_modules') or {}).items():
        if isinstance(child, StandIn):
            tensors.update(pickled_module_tensors(child, f'{prefix}{name}.'))
    return tensors


def _unwrap_state_dict(loaded: Any, path: Path, tokenizer_name: str, container_keys: Collection[str],
                       how_to_obtain: str) -> dict[str, torch.Tensor]:
    if isinstance(loaded, dict):
        for key in container_keys:
            if key in loaded and isinstance(loaded[key], dict):
                loaded = loaded[key]
                break
    if (isinstance(loaded, dict) and loaded and all(isinstance(key, str) for key in loaded)
            and all(isinstance(value, torch.Tensor) for value in loaded.values())):
        return dict(loaded)
    found = type(loaded).__name__
    if isinstance(loaded, dict):
        found = f'a dict with keys {sorted(map(str, loaded))[:8]}'
    raise TokenizerWeightsError(f'{path} is not a {tokenizer_name} weights file: expected a state dict of tensors '
                                f'(optionally under one of {sorted(container_keys)}), found {found}. {how_to_obtain}')


def read_tokenizer_file(path: Union[str, Path],
                        tokenizer_name: str,
                        how_to_obtain: str,
                        container_keys: Collection[str] = ('state_dict', ),
                        pickled_module_classes: Collection[str] = (),
                        pickled_root_class: str = '') -> dict[str, torch.Tensor]:
    """Read a tokenizer weights file.

    Args:
        path: the file.
        tokenizer_name: used in error messages, e.g. ``'DALL-E encoder'``.
        how_to_obtain: appended to every error: where to get the file and where to put it.
        container_keys: keys under which a saved dict may hold the state dict (``'state_dict'``, ``'weights'``).
        pickled_module_classes: ``'module.Name'`` of the classes a pickled module of this tokenizer is made of;
            empty: pickled modules are refused.
        pickled_root_class: the class the pickled module itself must be (e.g. ``'dall_e.encoder.Encoder'``).

    Returns:
        ``{name: tensor}`` as the file names them.

    Raises:
        TokenizerWeightsError: missing, truncated or corrupt file, wrong content, or a pickle naming anything outside
            ``pickled_module_classes`` (nothing from such a file is executed).
    """
    path = Path(path)
    if not path.is_file():
        raise TokenizerWeightsError(f'{tokenizer_name} weights not found at {path}. {how_to_obtain}')
    try:
        loaded = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # a damaged file fails anywhere in the zip reader or unpickler, with any exception type
        if not refused_by_weights_only(error):
            raise _unreadable(path, tokenizer_name, how_to_obtain, error) from error
        loaded = _load_pickled_module(path, tokenizer_name, how_to_obtain, pickled_module_classes)
    if isinstance(loaded, StandIn):
        if loaded.pickled_class != pickled_root_class:
            raise TokenizerWeightsError(f'{path} holds a pickled {loaded.pickled_class}, not a {tokenizer_name} '
                                        f'({pickled_root_class}). {how_to_obtain}')
        tensors = pickled_module_tensors(loaded)
        if not tensors:
            raise TokenizerWeightsError(f'the pickled {pickled_root_class} in {path} holds no tensors. {how_to_obtain}')
        return tensors
    return _unwrap_state_dict(loaded, path, tokenizer_name, container_keys, how_to_obtain)


def _load_pickled_module(path: Path, tokenizer_name: str, how_to_obtain: str,
                         pickled_module_classes: Collection[str]) -> Any:
    allowed = {tuple(name.rsplit('.', 1)): stand_in_for(name) for name in pickled_module_classes}
    try:
        return load_with_allowed_globals(path, allowed)
    except RefusedGlobalError as error:
        expected = ', '.join(sorted(pickled_module_classes)) or 'none: only plain state dicts'
        raise TokenizerWeightsError(
            f'refusing to load {path}: it refers to {error.qualified_name}, which is not part of a {tokenizer_name} '
            f'(allowed classes: {expected}); nothing from the file was run. {how_to_obtain}') from error
    except Exception as error:
        raise _unreadable(path, tokenizer_name, how_to_obtain, error) from error


def _unreadable(path: Path, tokenizer_name: str, how_to_obtain: str, error: Exception) -> TokenizerWeightsError:
    return TokenizerWeightsError(f'cannot read {tokenizer_name} weights {path}: the file is truncated, corrupt or '
                                 f'not a PyTorch file ({type(error).__name__}: {error}). {how_to_obtain}')
