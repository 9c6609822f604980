"""Stop training at the first NaN/inf loss or weight, before a checkpoint can save poisoned weights."""

import math
from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from cae_mm.registry import HOOKS
from cae_mm.utils.argument_checks import check_positive_integer


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
    """Raise ``FloatingPointError``, naming where the NaN/inf entered, at a non-finite loss, logged gradient norm or
    weight (checked after the first and every ``weight_check_interval`` steps), and before writing such a checkpoint,
    so the newest checkpoint stays the last good one. Under a dynamic loss scale skipped steps only warn.

    Args:
        max_skipped_steps: consecutive non-finite losses skipped by the loss scaler that stop training.
        weight_check_interval: check the weights after every this many optimizer steps (and after the first).

    Raises:
        ValueError: an argument below 1; before training, a learning rate that is not a finite float32 step.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, max_skipped_steps: int = 25, weight_check_interval: int = 50) -> None:
        if max_skipped_steps < 1:
            raise ValueError(f'max_skipped_steps must be at least 1, got {max_skipped_steps}')
        self.max_skipped_steps = max_skipped_steps
        self.weight_check_interval = check_positive_integer(
            weight_check_interval, 'StopOnNonFiniteHook weight_check_interval'
        )
        self.skipped_in_a_row = 0
        self._scale_before_step: Optional[float] = None

    @staticmethod
    def _loss_scale(runner: Any) -> Optional[float]:
        """The current scale of the optimizer wrapper's loss scaler, or None without an active one."""
        scaler = getattr(getattr(runner, 'optim_wrapper', None), 'loss_scaler', None)
        return float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else None

    def before_train(self, runner: Any) -> None:
        optim_wrapper = getattr(runner, 'optim_wrapper', None)
        wrappers = list(optim_wrapper.values()) if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper]
        largest = float(torch.finfo(torch.float32).max)
        for wrapper in wrappers:
            for index, group in enumerate(getattr(wrapper, 'param_groups', [])):
                rate = float(group.get('initial_lr', group['lr']))
                limit = largest * (1 - group['betas'][0]) if 'betas' in group else largest
                if not (math.isfinite(rate) and abs(rate) < limit):
                    raise ValueError(
                        f'the learning rate of parameter group {index} is {rate:g}: the optimizer step would overflow '
                        f'float32 (limit {limit:.3g}); set optim_wrapper.optimizer.lr to a sensible value (and check '
                        'auto_scale_lr, which scales it)'
                    )

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        self._scale_before_step = self._loss_scale(runner)

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Optional[dict] = None, outputs: Optional[dict] = None
    ) -> None:
        values = {name: torch.as_tensor(value).detach().float() for name, value in (outputs or {}).items()}
        bad_terms = {name: float(value.mean()) for name, value in values.items() if _non_finite(value)}
        if not bad_terms:
            self.skipped_in_a_row = 0
            self._check_after_the_step(runner)
            return
        terms = ', '.join(f'{name}={value}' for name, value in bad_terms.items())
        scale_after = self._loss_scale(runner)
        if self._scale_before_step is not None and scale_after is not None and scale_after < self._scale_before_step:
            self.skipped_in_a_row += 1
            if self.skipped_in_a_row < self.max_skipped_steps:
                runner.logger.warning(
                    f'non-finite loss at iteration {runner.iter + 1} ({terms}): the loss scaler skipped this step '
                    f'(scale {self._scale_before_step:g} -> {scale_after:g}); {self.skipped_in_a_row} in a row, '
                    f'training stops at {self.max_skipped_steps}'
                )
                return
            raise FloatingPointError(
                f'non-finite loss at {self.skipped_in_a_row} iterations in a row, up to iteration {runner.iter + 1} '
                f'({terms}), although the loss scaler skipped each step and lowered its scale to {scale_after:g}: '
                f'{self._diagnose(runner, data_batch)}. {self._where_to_resume(runner)}'
            )
        raise FloatingPointError(
            f'non-finite loss at iteration {runner.iter + 1} ({terms}): '
            f'{self._diagnose(runner, data_batch)}. {self._where_to_resume(runner)}'
        )

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        bad_parameters = [name for name, tensor in checkpoint.get('state_dict', {}).items() if _non_finite(tensor)]
        if bad_parameters:
            raise FloatingPointError(
                f'{len(bad_parameters)} weights are NaN or inf at iteration {runner.iter + 1} '
                f'({_first_names(bad_parameters)}): the gradients overflowed (lower the learning rate or clip '
                f'gradients with optim_wrapper.clip_grad); this checkpoint was not written. '
                f'{self._where_to_resume(runner)}'
            )

    def _check_after_the_step(self, runner: Any) -> None:
        """After a finite loss: stop at a non-finite gradient norm or weight (not under a loss scaler)."""
        if self._loss_scale(runner) is not None:
            return
        grad_norm = _logged_grad_norm(runner)
        if grad_norm is not None and not math.isfinite(grad_norm):
            raise FloatingPointError(
                f'the gradient norm is {grad_norm} at iteration {runner.iter + 1} although the loss is finite: '
                f'{_learning_rate_advice(runner)}. {self._where_to_resume(runner)}'
            )
        step = runner.iter + 1
        if step != 1 and step % self.weight_check_interval:
            return
        bad_weights = _non_finite_weights(runner)
        if bad_weights:
            raise FloatingPointError(
                f'{_describe_weights(bad_weights)} became NaN or inf in the optimizer step of iteration '
                f'{runner.iter + 1}, although its loss was finite: the step overflowed; '
                f'{_learning_rate_advice(runner)}. {self._where_to_resume(runner)}'
            )

    @staticmethod
    def _diagnose(runner: Any, data_batch: Optional[dict]) -> str:
        if data_batch is not None and _non_finite(data_batch.get('inputs')):
            return (
                'the input batch holds NaN or inf values: a transform in the data pipeline produced them '
                '(images decoded as uint8 cannot be NaN; look at float transforms)'
            )
        if data_batch is not None:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            with torch.no_grad():
                preprocessed = model.data_preprocessor(data_batch, training=True)
            if _non_finite(preprocessed.get('inputs')):
                return (
                    'the input batch is finite but the data preprocessor turns it into NaN or inf: check '
                    'model.data_preprocessor (a std of 0 divides by zero)'
                )
        bad_weights = _non_finite_weights(runner)
        if bad_weights:
            return (
                f'the inputs are finite and {_describe_weights(bad_weights)} are NaN or inf after this step: '
                f'training diverged; {_learning_rate_advice(runner)}'
            )
        return (
            f'the inputs are finite, so training diverged: lower the learning rate '
            f'({_learning_rate_key_and_value(runner)}), clip gradients '
            '(optim_wrapper.clip_grad=dict(max_norm=3.0)), or use bf16 instead of fp16'
        )

    @staticmethod
    def _where_to_resume(runner: Any) -> str:
        last = runner.message_hub.get_info('last_ckpt')
        if last:
            return f'The newest checkpoint, {last}, was written before this step: fix the cause and --resume'
        return 'No checkpoint was written yet: fix the cause and start again'


def _learning_rate_key_and_value(runner: Any) -> str:
    get_lr = getattr(getattr(runner, 'optim_wrapper', None), 'get_lr', None)
    # get_lr: {'lr': [one per group]}, or one such entry per optimizer of an OptimWrapperDict.
    rates = [float(rate) for group_rates in get_lr().values() for rate in group_rates] if get_lr else []
    return f'optim_wrapper.optimizer.lr, {max(rates):g} at this step' if rates else 'optim_wrapper.optimizer.lr'


def _learning_rate_advice(runner: Any) -> str:
    return (
        f'the learning rate is most likely too large: lower it ({_learning_rate_key_and_value(runner)}) or clip '
        'gradients (optim_wrapper.clip_grad=dict(max_norm=3.0))'
    )


def _logged_grad_norm(runner: Any) -> Optional[float]:
    """The gradient norm mmengine logged at this step (only with ``optim_wrapper.clip_grad``), else None."""
    message_hub = getattr(runner, 'message_hub', None)
    if message_hub is None or 'train/grad_norm' not in message_hub.log_scalars:
        return None
    return float(message_hub.get_scalar('train/grad_norm').current())


def _non_finite_weights(runner: Any) -> list[str]:
    """Names of this process's parameters holding a NaN or inf (no collective: another process may have stopped)."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not isinstance(model, torch.nn.Module):
        return []
    named = [(name, parameter) for name, parameter in model.named_parameters() if parameter.is_floating_point()]
    if not named:
        return []
    with torch.no_grad():
        finite = torch.stack([torch.isfinite(parameter).all() for _, parameter in named])  # (P,) one per tensor
    return [name for (name, _), ok in zip(named, finite.tolist()) if not ok]


def _first_names(names: list[str]) -> str:
    return ', '.join(names[:5]) + (', ...' if len(names) > 5 else '')


def _describe_weights(names: list[str]) -> str:
    return f'{len(names)} weight tensors ({_first_names(names)})'
