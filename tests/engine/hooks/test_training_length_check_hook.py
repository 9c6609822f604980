"""Tests for cae_mm.TrainingLengthCheckHook: no run of zero steps; schedules longer than the run are reported."""

from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import CosineAnnealingLR, LinearLR
from mmengine.runner import EpochBasedTrainLoop

from cae_mm.engine.hooks.training_length_check_hook import TrainingLengthCheckHook


class Warnings:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def warning(self, message: str) -> None:
        self.messages.append(message)


def optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)


def iteration_runner(max_iters: int, schedulers: list) -> SimpleNamespace:
    loop = SimpleNamespace(max_iters=max_iters, max_epochs=1)  # what IterBasedTrainLoop reports
    return SimpleNamespace(train_loop=loop, param_schedulers=schedulers, logger=Warnings())


def epoch_runner(max_epochs: int, iterations_per_epoch: int, schedulers: list) -> SimpleNamespace:
    loop = EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)  # the lengths only, without a data loader
    loop._max_epochs, loop._max_iters = max_epochs, max_epochs * iterations_per_epoch
    return SimpleNamespace(train_loop=loop, param_schedulers=schedulers, logger=Warnings())


@pytest.mark.parametrize('max_iters', [0, -5])
def test_a_run_of_no_iterations_is_refused(max_iters):
    with pytest.raises(ValueError, match=rf'train_cfg\.max_iters is {max_iters}: nothing would be trained'):
        TrainingLengthCheckHook().before_train(iteration_runner(max_iters, []))


def test_a_run_of_no_epochs_is_refused():
    with pytest.raises(ValueError, match=r'train_cfg\.max_epochs is 0: nothing would be trained'):
        TrainingLengthCheckHook().before_train(epoch_runner(0, 10, []))


def test_a_warmup_longer_than_the_run_is_reported_and_a_fitting_schedule_is_not():
    schedulers = [
        LinearLR(optimizer(), start_factor=1e-3, by_epoch=False, begin=0, end=100),
        CosineAnnealingLR(optimizer(), by_epoch=False, begin=100, end=800),
    ]
    runner = iteration_runner(8, schedulers)
    TrainingLengthCheckHook().before_train(runner)
    assert runner.logger.messages == [
        'param_scheduler[0] (LinearLR) ends at 100 iterations but training stops after 8: the learning rate never '
        'reaches the value the schedule was written for; shorten the schedule with the run if that is not intended',
        'param_scheduler[1] (CosineAnnealingLR) begins at 100 iterations but training stops after 8: it never takes '
        'effect',
    ]
    runner = iteration_runner(800, schedulers)
    TrainingLengthCheckHook().before_train(runner)
    assert runner.logger.messages == []


def test_epoch_schedules_are_compared_with_epochs_and_open_ended_ones_are_fine():
    schedulers = [LinearLR(optimizer(), by_epoch=True, begin=0, end=5), LinearLR(optimizer(), by_epoch=True, begin=0)]
    runner = epoch_runner(2, 100, schedulers)
    TrainingLengthCheckHook().before_train(runner)
    assert len(runner.logger.messages) == 1
    assert runner.logger.messages[0].startswith(
        'param_scheduler[0] (LinearLR) ends at 5 epochs but training stops after 2'
    )


def test_schedulers_of_several_optimizers_are_all_checked():
    runner = iteration_runner(
        8,
        dict(
            generator=[LinearLR(optimizer(), by_epoch=False, begin=0, end=20)],
            discriminator=[LinearLR(optimizer(), by_epoch=False, begin=0, end=4)],
        ),
    )
    TrainingLengthCheckHook().before_train(runner)
    assert len(runner.logger.messages) == 1 and 'ends at 20 iterations' in runner.logger.messages[0]
