"""Reading pickled PyTorch files from elsewhere without running their code.

``torch.load(weights_only=True)`` accepts plain tensors and containers only. Some files that users bring hold more:
the official DALL-E ``encoder.pkl`` is a whole pickled ``nn.Module`` of classes from the ``dall_e`` package, and the
official CAE checkpoints carry their ``argparse.Namespace``. These load through an unpickler that resolves only the
globals a caller names, each mapped to a harmless object of ours (a :class:`StandIn` that merely keeps the pickled
state), and refuses everything else. Nothing from the file is imported or called beyond tensor reconstruction.
"""
import builtins
import codecs
import collections
import pickle
from pathlib import Path
from typing import Any, Mapping, Union

import torch


class RefusedGlobalError(pickle.UnpicklingError):
    """The file refers to a global that is not on the allow-list."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f'{module}.{name}')
        self.qualified_name = f'{module}.{name}'


class StandIn:
    """Placeholder for an instance of a class that is never imported; it keeps what the pickle stores.

    Attributes:
        pickled_class: ``'module.Name'`` of the class the file names.
        arguments: positional arguments, if the file calls the class.
        state: the pickled instance state (an ``nn.Module``'s ``__dict__``, a Namespace's attributes).
    """

    pickled_class = ''

    def __init__(self, *arguments: Any) -> None:
        self.arguments = arguments
        self.state: Any = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state


def stand_in_for(qualified_name: str) -> type:
    """A :class:`StandIn` subclass that remembers ``qualified_name`` (``'module.Name'``)."""
    return type(qualified_name.rsplit('.', 1)[-1], (StandIn, ), {'pickled_class': qualified_name})


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, backward_hooks: Any) -> torch.Tensor:
    # Parameters come back as plain tensors: nothing here is trained, and hooks from the file are never installed.
    return data


def _rebuild_parameter_with_state(data: torch.Tensor, requires_grad: bool, backward_hooks: Any,
                                  state: Any) -> torch.Tensor:
    return data


TENSOR_GLOBALS: dict[tuple[str, str], Any] = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('torch._utils', '_rebuild_parameter_with_state'): _rebuild_parameter_with_state,
    ('torch', 'Size'): torch.Size,
    ('torch', 'device'): torch.device,
    ('builtins', 'set'): builtins.set,
    ('builtins', 'frozenset'): builtins.frozenset,
    ('_codecs', 'encode'): codecs.encode,
}
"""Globals that plain tensors, parameters and module bookkeeping need; safe to resolve."""


def _restricted_pickle_module(allowed: Mapping[tuple[str, str], Any]) -> Any:
    """A ``pickle_module`` for ``torch.load`` whose unpickler resolves only ``allowed`` (plus torch dtypes)."""

    class RestrictedUnpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str) -> Any:
            # Protocol-2 pickles name the builtins module '__builtin__'.
            module = 'builtins' if module == '__builtin__' else module
            if (module, name) in allowed:
                return allowed[(module, name)]
            if module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype):
                return getattr(torch, name)
            raise RefusedGlobalError(module, name)

    class RestrictedPickleModule:
        Unpickler = RestrictedUnpickler
        UnpicklingError = pickle.UnpicklingError
        __name__ = 'cae_mm_restricted_pickle'

        @staticmethod
        def load(file: Any, **kwargs: Any) -> Any:
            return RestrictedUnpickler(file, **kwargs).load()

    return RestrictedPickleModule


def load_with_allowed_globals(path: Union[str, Path], allowed: Mapping[tuple[str, str], Any]) -> Any:
    """``torch.load`` a file, resolving only the globals in :data:`TENSOR_GLOBALS` and ``allowed``.

    Args:
        path: a file written by ``torch.save`` (zip or legacy format).
        allowed: ``(module, name) -> object`` to use for that global, e.g. ``stand_in_for('dall_e.utils.Conv2d')``.

    Returns:
        The unpickled object, on the CPU.

    Raises:
        RefusedGlobalError: the file names a global outside the allow-list (nothing from it was run).
    """
    pickle_module = _restricted_pickle_module({**TENSOR_GLOBALS, **allowed})
    return torch.load(path, map_location='cpu', weights_only=False, pickle_module=pickle_module)


def refused_by_weights_only(error: BaseException) -> bool:
    """Whether ``torch.load(weights_only=True)`` stopped at a global it does not allow, rather than at damaged bytes."""
    message = str(error)
    # torch words it 'Unsupported global: GLOBAL x.y' or 'unsupported GLOBAL x.y whose module x is blocked'.
    return isinstance(error, pickle.UnpicklingError) and 'Weights only load failed' in message and 'GLOBAL' in message
