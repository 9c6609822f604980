"""Compile the model's forward pass with ``torch.compile`` when training starts."""
from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cae_mm.registry import HOOKS


@HOOKS.register_module()
class CompileForwardHook(Hook):
    """``torch.compile`` the (unwrapped) model's ``forward`` in ``before_train``: the losses and their backward pass.

    mmengine's own ``compile=True`` compiles the whole ``train_step``, optimizer step included; with torch 2.13 dynamo
    fails on the optimizer's parameter groups (``InternalTorchDynamoError`` in ``Adam.step``). Compiling ``forward``
    leaves the data preprocessor, the optimizer and the hooks eager, works with mmengine's ``Runner`` and
    ``FlexibleRunner`` alike (the model exists by ``before_train`` in both), and keeps checkpoints unchanged (no
    ``_orig_mod.`` prefixes). ``tools/train.py --compile [BACKEND]`` adds this hook. The first iterations are slow
    while the graphs compile; results match eager execution to rounding (``tests/models/test_torch_compile.py``).

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
        runner.logger.info(f'model forward compiled with torch.compile(backend={self.backend!r}, mode={self.mode!r}); '
                           'the first iterations include the compilation')
