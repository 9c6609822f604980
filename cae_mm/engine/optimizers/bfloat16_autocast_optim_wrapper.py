"""bf16 mixed precision for any device, CPUs included (mmengine's AmpOptimWrapper is GPU/NPU only)."""

from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from cae_mm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BFloat16AutocastOptimWrapper(OptimWrapper):
    """Runs the forward pass under ``torch.autocast(dtype=bfloat16)`` on the model's device.

    bf16 keeps fp32's exponent range, so no loss scaling is needed; parameters, gradients and optimizer state stay fp32,
    and cae_mm computes its losses in fp32.
    """

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of the parent, plus bf16 autocast."""
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            yield
