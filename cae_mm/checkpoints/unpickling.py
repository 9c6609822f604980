"""The restricted unpickler every checkpoint file goes through: only :data:`ALLOWED_GLOBALS` (and a caller's inert
:class:`StandIn` classes, e.g. for DALL-E's pickled ``encoder.pkl``) resolve; any other global is refused."""

import builtins
import codecs
import collections
import pickle
from typing import Any, Mapping, Optional

import numpy
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from .errors import CheckpointReadError


class RefusedGlobalError(pickle.UnpicklingError):
    """The file names a global (``qualified_name``) outside the allow-list; nothing from the file has run."""

    def __init__(self, qualified_name: str) -> None:
        super().__init__(qualified_name)
        self.qualified_name = qualified_name


class StandIn:
    """Inert placeholder for an instance of a never-imported class: ``pickled_class`` (its ``'module.Name'``),
    ``arguments`` (if the file calls the class) and ``state`` (e.g. an ``nn.Module``'s pickled ``__dict__``)."""

    pickled_class = ''

    def __init__(self, *arguments: Any) -> None:
        self.arguments = arguments
        self.state: Any = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state


def stand_in_for(qualified_name: str) -> type:
    """A :class:`StandIn` subclass for the pickled class ``qualified_name`` (``'module.Name'``)."""
    return type(qualified_name.rsplit('.', 1)[-1], (StandIn,), {'pickled_class': qualified_name})


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, backward_hooks: Any, *state: Any) -> torch.Tensor:
    # Hooks and Python attributes stored with a parameter are dropped: only the tensor is data.
    return torch.nn.Parameter(data, requires_grad)


_HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'mean', 'current'})


def _history_buffer_getattr(owner: Any, name: str) -> Any:
    """The one ``getattr`` a Runner checkpoint needs: HistoryBuffer's statistics methods."""
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(owner, name)
    raise RefusedGlobalError(f'builtins.getattr({getattr(owner, "__name__", owner)!r}, {name!r})')


_NUMPY_MULTIARRAY = {'_reconstruct': numpy.core.multiarray._reconstruct, 'scalar': numpy.core.multiarray.scalar}

ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('collections', 'Counter'): collections.Counter,
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('torch._utils', '_rebuild_parameter_with_state'): _rebuild_parameter,
    ('torch', 'Size'): torch.Size,
    ('torch', 'device'): torch.device,
    ('numpy', 'ndarray'): numpy.ndarray,
    ('numpy', 'dtype'): numpy.dtype,
    # numpy >= 2 writes numpy._core, older numpy numpy.core: the same two functions.
    **{
        (module, name): function
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray')
        for name, function in _NUMPY_MULTIARRAY.items()
    },
    ('_codecs', 'encode'): codecs.encode,
    ('mmengine.logging.history_buffer', 'HistoryBuffer'): HistoryBuffer,
    ('builtins', 'getattr'): _history_buffer_getattr,
    ('builtins', 'set'): builtins.set,
    ('builtins', 'frozenset'): builtins.frozenset,
    ('builtins', 'slice'): builtins.slice,
    ('argparse', 'Namespace'): stand_in_for('argparse.Namespace'),
}
"""Globals of checkpoints written by torch, mmengine's Runner and the official CAE code."""


def restricted_pickle_module(extra_globals: Optional[Mapping[tuple[str, str], Any]] = None) -> Any:
    """A ``torch.load`` ``pickle_module`` resolving only :data:`ALLOWED_GLOBALS`, torch dtypes and ``extra_globals``
    (``(module, name) -> object``); any other global raises :class:`RefusedGlobalError`."""
    allowed = {**ALLOWED_GLOBALS, **(extra_globals or {})}

    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            module = 'builtins' if module == '__builtin__' else module  # protocol-2 pickles
            if (module, name) in allowed:
                return allowed[(module, name)]
            if module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype):
                return getattr(torch, name)
            raise RefusedGlobalError(f'{module}.{name}')

    class RestrictedPickleModule:
        Unpickler = RestrictedUnpickler
        UnpicklingError = pickle.UnpicklingError
        __name__ = 'cae_mm_restricted_pickle'

        @staticmethod
        def load(file: Any, **kwargs: Any) -> Any:
            return RestrictedUnpickler(file, **kwargs).load()

    return RestrictedPickleModule


MAX_MODULE_DEPTH = 64
"""Deepest pickled module tree read."""
MAX_MODULES = 100_000
"""Most modules visited in one tree (a shared sub-module counts once per place)."""


def pickled_module_tensors(root: StandIn, source: str) -> dict[str, torch.Tensor]:
    """The state dict ``{'child.name.parameter': tensor}`` of the pickled ``nn.Module`` whose stand-in is ``root``,
    read from the stand-ins' pickled ``__dict__``; ``source`` (the file) is named in errors.

    Raises:
        CheckpointReadError: a cycle, or deeper than :data:`MAX_MODULE_DEPTH`, or more than :data:`MAX_MODULES`.
    """
    tensors = {}
    pending = [(root, '', (id(root),))]  # (module, name prefix, ids of the module and its ancestors)
    visited = 0
    while pending:
        module, prefix, ancestors = pending.pop()
        visited += 1
        if visited > MAX_MODULES:
            raise CheckpointReadError(
                f'{source} holds more than {MAX_MODULES} modules (sub-modules shared over and '
                'over); the file is damaged or crafted'
            )
        state = module.state if isinstance(module.state, dict) else {}
        for name, tensor in (state.get('_parameters') or {}).items():
            if isinstance(tensor, torch.Tensor):
                tensors[prefix + name] = tensor
        non_persistent = state.get('_non_persistent_buffers_set') or set()
        for name, tensor in (state.get('_buffers') or {}).items():
            if isinstance(tensor, torch.Tensor) and name not in non_persistent:
                tensors[prefix + name] = tensor
        for name, child in (state.get('_modules') or {}).items():
            if not isinstance(child, StandIn):
                continue
            if id(child) in ancestors:
                raise CheckpointReadError(
                    f'{source} is not a module tree: {prefix}{name} contains itself (a cyclic '
                    'module graph, which no saved nn.Module has); the file is damaged or crafted'
                )
            if len(ancestors) >= MAX_MODULE_DEPTH:
                raise CheckpointReadError(
                    f'{source} holds modules nested deeper than {MAX_MODULE_DEPTH} levels (at '
                    f'{prefix}{name}); the file is damaged or crafted'
                )
            pending.append((child, f'{prefix}{name}.', ancestors + (id(child),)))
    return tensors
