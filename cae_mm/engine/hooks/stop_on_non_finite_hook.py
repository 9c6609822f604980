"""Stop training with a clear error at the first NaN/inf loss, before a checkpoint can save poisoned weights."""
from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cae_mm.registry import HOOKS


def _non_finite(value: Any) -> bool:
    """Whether ``value`` (a tensor, number, or nested list/tuple/dict of them) holds a NaN or an inf."""
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and not bool(torch.isfinite(value).all())
    if isinstance(value, float):
        return not torch.isfinite(torch.tensor(value))
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(item) for item in value)
    return False


@HOOKS.register_module()
class StopOnNonFiniteHook(Hook):
    """Raise ``FloatingPointError`` when a loss or the weights about to be checkpointed are not finite.

    The choice: a NaN/inf loss stops training instead of being skipped. Without a loss scaler (fp32, bf16) the
    optimizer has already applied that step, so the weights in memory are poisoned; the hook runs in
    ``after_train_iter`` before ``CheckpointHook`` (priority ``ABOVE_NORMAL``), so they are never written, and before
    every checkpoint write it also checks the weights themselves (a finite loss can come with inf gradients). The newest
    checkpoint on disk stays the last good one: fix the cause and ``--resume``.

    With fp16 and a dynamic loss scale (``AmpOptimWrapper``, ``--amp`` on a GPU) an overflow is expected now and then:
    the scaler finds the non-finite gradients, skips the optimizer step (the weights stay as they were) and halves the
    scale. Such a step (seen as a drop of the loss scale) is logged as a warning and training goes on; only
    ``max_skipped_steps`` non-finite losses in a row, which no smaller scale cured, stop it, with the same error.

    The error says which loss terms are not finite and where the NaN/inf entered: the batch itself (the data
    pipeline), the data preprocessor (for example a ``std`` of 0), or neither, in which case training diverged
    (lower the learning rate, clip gradients with ``optim_wrapper.clip_grad``, or prefer bf16 to fp16).

    Args:
        max_skipped_steps: consecutive non-finite losses, each skipped by the loss scaler, that stop training. The
            default 25 lets the scale fall from its start (2^16) below 0.01: an overflow that persists at such scales
            is not a scaling problem.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, max_skipped_steps: int = 25) -> None:
        if max_skipped_steps < 1:
            raise ValueError(f'max_skipped_steps must be at least 1, got {max_skipped_steps}')
        self.max_skipped_steps = max_skipped_steps
        self.skipped_in_a_row = 0
        self._scale_before_step: Optional[float] = None

    @staticmethod
    def _loss_scale(runner: Any) -> Optional[float]:
        """The current scale of the optimizer wrapper's loss scaler, or None without an active one."""
        scaler = getattr(getattr(runner, 'optim_wrapper', None), 'loss_scaler', None)
        if scaler is None or not scaler.is_enabled():
            return None
        return float(scaler.get_scale())

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        """Remember the loss scale, to tell afterwards whether the scaler skipped the step."""
        self._scale_before_step = self._loss_scale(runner)

    def after_train_iter(self,
                         runner: Any,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Check the logged losses of this step; explain and stop if any is NaN or inf."""
        if not outputs:
            return
        values = {name: torch.as_tensor(value).detach().float() for name, value in outputs.items()}
        bad_terms = {name: float(value.mean()) for name, value in values.items() if _non_finite(value)}
        if not bad_terms:
            self.skipped_in_a_row = 0
            return
        terms = ', '.join(f'{name}={value}' for name, value in bad_terms.items())
        scale_after = self._loss_scale(runner)
        if self._scale_before_step is not None and scale_after is not None and scale_after < self._scale_before_step:
            self.skipped_in_a_row += 1
            if self.skipped_in_a_row < self.max_skipped_steps:
                runner.logger.warning(
                    f'non-finite loss at iteration {runner.iter + 1} ({terms}): the loss scaler skipped this step '
                    f'(scale {self._scale_before_step:g} -> {scale_after:g}); {self.skipped_in_a_row} in a row, '
                    f'training stops at {self.max_skipped_steps}')
                return
            raise FloatingPointError(
                f'non-finite loss at {self.skipped_in_a_row} iterations in a row, up to iteration {runner.iter + 1} '
                f'({terms}), although the loss scaler skipped each step and lowered its scale to {scale_after:g}: '
                f'{self._diagnose(runner, data_batch)}. {self._where_to_resume(runner)}')
        raise FloatingPointError(f'non-finite loss at iteration {runner.iter + 1} ({terms}): '
                                 f'{self._diagnose(runner, data_batch)}. {self._where_to_resume(runner)}')

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Refuse to write a checkpoint whose weights hold NaN or inf."""
        bad_parameters = [name for name, tensor in checkpoint.get('state_dict', {}).items() if _non_finite(tensor)]
        if bad_parameters:
            shown = ', '.join(bad_parameters[:5]) + (', ...' if len(bad_parameters) > 5 else '')
            raise FloatingPointError(
                f'{len(bad_parameters)} weights are NaN or inf at iteration {runner.iter + 1} ({shown}): the '
                f'gradients overflowed (lower the learning rate or clip gradients with optim_wrapper.clip_grad); '
                f'this checkpoint was not written. {self._where_to_resume(runner)}')

    @staticmethod
    def _diagnose(runner: Any, data_batch: Optional[dict]) -> str:
        if data_batch is not None and _non_finite(data_batch.get('inputs')):
            return ('the input batch holds NaN or inf values: a transform in the data pipeline produced them '
                    '(images decoded as uint8 cannot be NaN; look at float transforms)')
        if data_batch is not None:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            with torch.no_grad():
                preprocessed = model.data_preprocessor(data_batch, training=True)
            if _non_finite(preprocessed.get('inputs')):
                return ('the input batch is finite but the data preprocessor turns it into NaN or inf: check '
                        'model.data_preprocessor (a std of 0 divides by zero)')
        return ('the inputs are finite, so training diverged: lower the learning rate, clip gradients '
                '(optim_wrapper.clip_grad=dict(max_norm=3.0)), or use bf16 instead of fp16')

    @staticmethod
    def _where_to_resume(runner: Any) -> str:
        last = runner.message_hub.get_info('last_ckpt')
        if last:
            return f'The newest checkpoint, {last}, was written before this step: fix the cause and --resume'
        return 'No checkpoint was written yet: fix the cause and start again'
