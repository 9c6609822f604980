"""Recompute cheap outputs (LayerNorm, GELU) in the backward pass instead of keeping them for the next linear layer.

Same operation on tensors autograd keeps anyway, so the gradients are the same bits. Inactive inside activation
checkpointing (:func:`checkpoint_contexts`) and under ``torch.compile``.
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
    """While active, autograd keeps no view of the ``outputs``, ``(output, recompute)`` pairs, only how to recompute
    them; ``recompute()`` must return ``output`` bit for bit, same layout. E.g.
    ``with recompute_when_saved((y, partial(norm, x))):`` around the linear layer that reads ``y = norm(x)``."""
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
