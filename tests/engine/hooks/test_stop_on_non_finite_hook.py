"""Tests for cae_mm.StopOnNonFiniteHook: a NaN/inf loss stops training with the cause, before anything is saved."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub
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
