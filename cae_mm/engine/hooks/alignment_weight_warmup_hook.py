"""Ramp CAE's alignment weight λ up from 0 over the first iterations."""

from typing import Any

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cae_mm.registry import HOOKS


@HOOKS.register_module()
class AlignmentWeightWarmupHook(Hook):
    """Set ``model.head.alignment_weight`` to ``λ · min(1, iter / warmup_iters)`` before every training iteration,
    ``λ`` being the configured weight; logged as ``train/alignment_weight``.

    Args:
        warmup_iters: iterations of the linear ramp from 0 to ``λ``.

    Raises:
        ValueError: ``warmup_iters < 1``, or the model's head has no ``alignment_weight``.
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
        self.final_weight = float(self._head(runner).alignment_weight)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        weight = self.final_weight * min(1.0, runner.iter / self.warmup_iters)
        self._head(runner).alignment_weight = weight
        runner.message_hub.update_scalar('train/alignment_weight', weight)
