"""Tests for cae_mm.StopOnNonFiniteHook: a NaN/inf loss stops training with the cause, before anything is saved."""

from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.runner import get_priority
from mmpretrain.models import SelfSupDataPreprocessor

from cae_mm.engine.hooks import StopOnNonFiniteHook


def fake_runner(std: float = 1.0, last_checkpoint: str | None = None) -> SimpleNamespace:
    message_hub = MessageHub.get_instance('test_stop_on_non_finite_hook')
    message_hub.update_info('last_ckpt', last_checkpoint)
    preprocessor = SelfSupDataPreprocessor(mean=[0.0, 0.0, 0.0], std=[std, std, std])
    return SimpleNamespace(iter=6, message_hub=message_hub, model=SimpleNamespace(data_preprocessor=preprocessor))


def batch(value: float = 1.0) -> dict:
    return dict(inputs=[torch.full((3, 8, 8), value)], data_samples=[])


def losses(reconstruction: float, alignment: float = 0.5) -> dict:
    total = torch.tensor(reconstruction + alignment)
    return dict(loss=total, loss_reconstruction=torch.tensor(reconstruction), loss_alignment=torch.tensor(alignment))


def test_finite_losses_pass():
    StopOnNonFiniteHook().after_train_iter(fake_runner(), 6, batch(), losses(1.0))


def test_nan_in_the_batch_is_blamed_on_the_data_pipeline():
    with pytest.raises(FloatingPointError) as error:
        StopOnNonFiniteHook().after_train_iter(fake_runner(), 6, batch(float('nan')), losses(float('nan')))
    message = str(error.value)
    assert 'non-finite loss at iteration 7' in message
    assert 'loss_reconstruction=nan' in message and 'loss_alignment' not in message
    assert 'input batch holds NaN or inf' in message


def test_a_zero_std_is_blamed_on_the_data_preprocessor():
    with pytest.raises(FloatingPointError, match='data preprocessor turns it into NaN or inf'):
        StopOnNonFiniteHook().after_train_iter(fake_runner(std=0.0), 6, batch(), losses(float('inf')))


def test_finite_inputs_mean_divergence_and_the_error_names_the_checkpoint_to_resume_from():
    runner = fake_runner(last_checkpoint='/work/iter_4.pth')
    with pytest.raises(FloatingPointError) as error:
        StopOnNonFiniteHook().after_train_iter(runner, 6, batch(), losses(1.0, float('inf')))
    message = str(error.value)
    assert 'loss_alignment=inf' in message and 'training diverged' in message and 'learning rate' in message
    assert 'The newest checkpoint, /work/iter_4.pth, was written before this step' in message


def test_checkpoint_with_nan_weights_is_refused():
    """A finite loss can come with overflowing gradients: the weights are checked before every checkpoint write."""
    state_dict = {'backbone.cls_token': torch.zeros(1, 1, 4), 'head.predictor.weight': torch.tensor([[float('nan')]])}
    with pytest.raises(FloatingPointError, match=r'1 weights are NaN or inf .*head\.predictor\.weight'):
        StopOnNonFiniteHook().before_save_checkpoint(fake_runner(), dict(state_dict=state_dict))
    StopOnNonFiniteHook().before_save_checkpoint(fake_runner(), dict(state_dict={'w': torch.ones(2)}))


def test_runs_before_the_checkpoint_hook():
    """So that a poisoned step is never checkpointed."""
    assert get_priority(StopOnNonFiniteHook.priority) < get_priority(CheckpointHook.priority)


def runner_with_weights(weight: float, iteration: int, learning_rate: float = 123.0) -> SimpleNamespace:
    """A runner after the optimizer step of ``iteration`` (0-based), whose model holds one weight equal to ``weight``."""
    model = torch.nn.Linear(1, 1)
    model.data_preprocessor = SelfSupDataPreprocessor(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
    with torch.no_grad():
        model.weight.fill_(weight)
    message_hub = MessageHub.get_instance(f'test_stop_on_non_finite_hook_weights_{iteration}_{weight}')
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=learning_rate))
    return SimpleNamespace(iter=iteration, message_hub=message_hub, model=model, optim_wrapper=optim_wrapper)


def test_weights_that_overflow_with_a_finite_loss_stop_training_and_name_the_learning_rate():
    """An optimizer step can turn the weights inf while its own loss was finite: checked after the first step."""
    with pytest.raises(FloatingPointError) as error:
        StopOnNonFiniteHook().after_train_iter(runner_with_weights(float('inf'), 0), 0, batch(), losses(1.0))
    message = str(error.value)
    assert 'weight.' not in message and '1 weight tensors (weight) became NaN or inf' in message
    assert 'optimizer step of iteration 1, although its loss was finite' in message
    assert 'optim_wrapper.optimizer.lr, 123 at this step' in message
    StopOnNonFiniteHook().after_train_iter(runner_with_weights(2.0, 0), 0, batch(), losses(1.0))


def test_weights_are_checked_every_interval_only():
    hook = StopOnNonFiniteHook(weight_check_interval=10)
    hook.after_train_iter(runner_with_weights(float('nan'), 8), 8, batch(), losses(1.0))  # step 9: not checked
    with pytest.raises(FloatingPointError, match='became NaN or inf in the optimizer step of iteration 10'):
        hook.after_train_iter(runner_with_weights(float('nan'), 9), 9, batch(), losses(1.0))


def test_an_inf_gradient_norm_logged_with_a_finite_loss_stops_training():
    runner = runner_with_weights(1.0, 6)
    runner.message_hub.update_scalar('train/grad_norm', float('inf'))
    with pytest.raises(FloatingPointError, match=r'gradient norm is inf at iteration 7 .*optim_wrapper\.optimizer\.lr'):
        StopOnNonFiniteHook().after_train_iter(runner, 6, batch(), losses(1.0))


def test_nan_loss_with_finite_inputs_reports_the_weights_and_the_learning_rate():
    with pytest.raises(
        FloatingPointError,
        match=r'1 weight tensors \(weight\) are NaN or inf after this step: '
        r'training diverged; .*optim_wrapper\.optimizer\.lr, 123 at this step',
    ):
        StopOnNonFiniteHook().after_train_iter(runner_with_weights(float('nan'), 3), 3, batch(), losses(float('nan')))


@pytest.mark.parametrize(
    'optimizer, learning_rate, refused',
    [
        ('AdamW', 1e-3, False),
        ('AdamW', 1e38, True),
        ('AdamW', float('inf'), True),
        ('SGD', 1e38, False),
        ('SGD', 1e39, True),
    ],
)
def test_a_learning_rate_that_overflows_float32_is_refused_before_training(optimizer, learning_rate, refused):
    """Adam's first step is lr / (1 - beta1): above float32's range torch fails without naming a setting."""
    model = torch.nn.Linear(1, 1)
    optim = getattr(torch.optim, optimizer)(model.parameters(), lr=1.0)
    optim.param_groups[0]['lr'] = learning_rate  # the constructors refuse inf themselves
    runner = SimpleNamespace(optim_wrapper=OptimWrapper(optim))
    if not refused:
        StopOnNonFiniteHook().before_train(runner)
        return
    with pytest.raises(ValueError, match=r'learning rate of parameter group 0 is .*set optim_wrapper\.optimizer\.lr'):
        StopOnNonFiniteHook().before_train(runner)


@pytest.mark.parametrize('interval', [0, -1, 2.5, True])
def test_weight_check_interval_must_be_a_positive_integer(interval):
    with pytest.raises(ValueError, match='weight_check_interval must be a positive integer'):
        StopOnNonFiniteHook(weight_check_interval=interval)
