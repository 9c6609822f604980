"""Imported by the training process of test_non_finite_loss_training.py (``custom_imports``).

``cae_mm.PoisonWeightsHook`` writes a NaN into one weight before a chosen iteration: from then on the model computes
a NaN loss, as a diverged run does.
"""

from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cae_mm.registry import HOOKS


@HOOKS.register_module()
class PoisonWeightsHook(Hook):
    """Set ``head.predictor.weight[0, 0]`` to NaN before iteration ``at_iteration`` (counted from 1).

    Args:
        at_iteration: the first iteration whose loss is NaN.
    """

    def __init__(self, at_iteration: int) -> None:
        self.at_iteration = at_iteration

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        if runner.iter + 1 == self.at_iteration:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            with torch.no_grad():
                model.head.predictor.weight[0, 0] = float('nan')
