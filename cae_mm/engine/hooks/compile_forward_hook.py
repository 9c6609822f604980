"""Compile the model's forward pass with ``torch.compile`` when training starts."""

from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cae_mm.registry import HOOKS


@HOOKS.register_module()
class CompileForwardHook(Hook):
    """``torch.compile`` the (unwrapped) model's ``forward`` in ``before_train``: the losses and their backward pass.

    Unlike mmengine's ``compile=True`` (the whole ``train_step``, on which dynamo fails in ``Adam.step``), the data
    preprocessor, optimizer and hooks stay eager, and checkpoints keep their names (no ``_orig_mod.`` prefixes).
    ``tools/train.py --compile [BACKEND]`` adds this hook.

    Args:
        backend: ``torch.compile`` backend (``'inductor'`` generates fused kernels; ``'aot_eager'`` only traces).
        mode: ``torch.compile`` mode, e.g. ``'max-autotune'``; None for the default.
        dynamic: ``torch.compile``'s ``dynamic``; None lets it decide after a shape changes.
    """

    priority = 'VERY_HIGH'

    def __init__(self, backend: str = 'inductor', mode: Optional[str] = None, dynamic: Optional[bool] = None) -> None:
        self.backend = backend
        self.mode = mode
        self.dynamic = dynamic

    def before_train(self, runner: Any) -> None:
        """Replace the model's ``forward`` by its compiled version (once)."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if 'forward' in vars(model):
            return  # already compiled (a second train() call)
        model.forward = torch.compile(model.forward, backend=self.backend, mode=self.mode, dynamic=self.dynamic)
        runner.logger.info(
            f'model forward compiled with torch.compile(backend={self.backend!r}, mode={self.mode!r}); '
            'the first iterations include the compilation'
        )
