"""Keep fewer activations for the backward pass: cheap outputs are recomputed there instead of kept.

A linear layer keeps its input for its weight gradient. When that input is the output of a LayerNorm or a GELU, whose
own input autograd keeps anyway, keeping both doubles the memory for nothing: the output can be recomputed in the
backward pass from what is kept, by the same operation on the same tensor, so the gradients are the same bits. In a
transformer block this drops the two LayerNorm outputs and the GELU output (6 of about 19 token-sized tensors kept per
block) at the cost of one LayerNorm and one GELU per block in the backward pass.

Inside activation checkpointing (:func:`checkpoint_contexts`) and under ``torch.compile`` nothing is changed: the
first recomputes the whole block anyway, the second plans its own saved tensors.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

import torch
from torch.autograd.graph import saved_tensors_hooks

_inside_checkpoint: ContextVar[bool] = ContextVar('cae_mm_inside_checkpoint', default=False)


@contextmanager
def _checkpointed_region() -> Iterator[None]:
    token = _inside_checkpoint.set(True)
    try:
        yield
    finally:
        _inside_checkpoint.reset(token)


def checkpoint_contexts() -> tuple:
    """``context_fn`` for ``torch.utils.checkpoint``: marks both the forward and its recomputation as checkpointed,
    so :func:`recompute_when_saved` leaves the saved tensors to the checkpoint (two hooks cannot both apply)."""
    return _checkpointed_region(), _checkpointed_region()


class _Recomputed:
    """What autograd keeps instead of a view of a recomputable output: how to rebuild the view."""

    __slots__ = ('recompute', 'size', 'stride', 'offset')

    def __init__(self, recompute: Callable[[], torch.Tensor], view: torch.Tensor) -> None:
        self.recompute = recompute
        self.size, self.stride, self.offset = view.size(), view.stride(), view.storage_offset()

    def materialize(self) -> torch.Tensor:
        return self.recompute().as_strided(self.size, self.stride, self.offset)


@contextmanager
def recompute_when_saved(*outputs: tuple[torch.Tensor, Callable[[], torch.Tensor]]) -> Iterator[None]:
    """While active, autograd keeps no view of the given outputs: it keeps how to recompute them.

    Use it around the layers that consume the outputs, e.g. ``with recompute_when_saved((y, partial(norm, x))):``
    around the linear layer that reads ``y = norm(x)``.

    Args:
        *outputs: ``(output, recompute)`` pairs; ``recompute()`` must return a tensor equal bit for bit to ``output``
            (the same deterministic operation on tensors that autograd keeps anyway), with the same layout.
    """
    active = (
        torch.is_grad_enabled()
        and any(output.requires_grad for output, _ in outputs)
        and not _inside_checkpoint.get()
        and not torch.compiler.is_compiling()
    )
    if not active:
        yield
        return
    by_storage = {
        (output.untyped_storage().data_ptr(), output.dtype): recompute
        for output, recompute in outputs
        if output.is_contiguous()
    }

    def pack(tensor: torch.Tensor):
        recompute = by_storage.get((tensor.untyped_storage().data_ptr(), tensor.dtype))
        return tensor if recompute is None else _Recomputed(recompute, tensor)

    def unpack(saved):
        return saved.materialize() if isinstance(saved, _Recomputed) else saved

    with saved_tensors_hooks(pack, unpack):
        yield
