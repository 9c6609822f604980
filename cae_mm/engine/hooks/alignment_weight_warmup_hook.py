"""Ramp CAE's alignment weight λ up from 0 over the first iterations: the small-scale recipe that avoids collapse."""

from typing import Any

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cae_mm.registry import HOOKS


@HOOKS.register_module()
class AlignmentWeightWarmupHook(Hook):
    """Set ``model.head.alignment_weight`` to ``λ · min(1, iter / warmup_iters)`` before every training iteration.

    ``λ`` is the head's configured ``alignment_weight`` (2 in the paper). The weight depends only on the iteration
    number, so a resumed run continues the same ramp; after ``warmup_iters`` the head trains with ``λ`` as configured.

    Args:
        warmup_iters: iterations of the linear ramp from 0 to ``λ``.
    """

    priority = 'NORMAL'

    def __init__(self, warmup_iters: int) -> None:
        if warmup_iters < 1:
            raise ValueError(f'warmup_iters must be positive, got {warmup_iters}')
        self.warmup_iters = warmup_iters
        self.final_weight: float = 0.0

    @staticmethod
    def _head(runner: Any) -> Any:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model.head, 'alignment_weight'):
            raise ValueError('AlignmentWeightWarmupHook needs a CAE whose head has an alignment_weight')
        return model.head

    def before_train(self, runner: Any) -> None:
        """Remember the configured λ."""
        self.final_weight = float(self._head(runner).alignment_weight)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        """Set the weight of this iteration and log it as ``train/alignment_weight``."""
        weight = self.final_weight * min(1.0, runner.iter / self.warmup_iters)
        self._head(runner).alignment_weight = weight
        runner.message_hub.update_scalar('train/alignment_weight', weight)
