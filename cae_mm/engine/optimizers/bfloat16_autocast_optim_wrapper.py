"""bf16 mixed precision for any device, CPUs included (mmengine's AmpOptimWrapper is GPU/NPU only)."""

from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from cae_mm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BFloat16AutocastOptimWrapper(OptimWrapper):
    """Runs the forward pass under ``torch.autocast(dtype=bfloat16)`` on the model's device, without loss scaling;
    parameters, gradients and optimizer state stay fp32."""

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            yield
