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

    The choice: a NaN/inf loss stops training instead of being skipped. The optimizer has already applied that
    step, so the weights in memory are poisoned; the hook runs in ``after_train_iter`` before ``CheckpointHook``
    (priority ``ABOVE_NORMAL``), so they are never written, and before every checkpoint write it also checks the
    weights themselves (a finite loss can come with inf gradients). The newest checkpoint on disk stays the last good
    one: fix the cause and ``--resume``.

    The error says which loss terms are not finite and where the NaN/inf entered: the batch itself (the data
    pipeline), the data preprocessor (for example a ``std`` of 0), or neither, in which case training diverged
    (lower the learning rate, clip gradients with ``optim_wrapper.clip_grad``, or prefer bf16 to fp16).
    """

    priority = 'ABOVE_NORMAL'

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
            return
        terms = ', '.join(f'{name}={value}' for name, value in bad_terms.items())
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
