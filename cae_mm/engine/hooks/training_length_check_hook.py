"""Refuse a run with nothing to train; warn about learning-rate schedules the run is too short for."""

from typing import Any

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from cae_mm.registry import HOOKS

# mmengine's "no end" for a parameter scheduler (mmengine.optim.scheduler.param_scheduler.INF).
NO_END = int(1e9)


@HOOKS.register_module()
class TrainingLengthCheckHook(Hook):
    """Before the first step, raise ``ValueError`` if ``train_cfg.max_iters`` (or ``max_epochs``) is below 1
    (mmengine would report success), and warn for each ``param_scheduler`` entry that ends or begins after the run
    (shortened smoke runs do this on purpose)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner: Any) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            length, key = loop.max_epochs, 'train_cfg.max_epochs'
        else:
            length, key = loop.max_iters, 'train_cfg.max_iters'
        if length <= 0:
            raise ValueError(
                f'{key} is {length}: nothing would be trained (mmengine would stop at once and write no '
                f'checkpoint); set {key} to at least 1'
            )
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):  # one list per optimizer
            schedulers = [scheduler for group in schedulers.values() for scheduler in group]
        for index, scheduler in enumerate(schedulers):
            unit, run_length = ('epochs', loop.max_epochs) if scheduler.by_epoch else ('iterations', loop.max_iters)
            name = f'param_scheduler[{index}] ({type(scheduler).__name__})'
            if scheduler.begin >= run_length:
                runner.logger.warning(
                    f'{name} begins at {scheduler.begin} {unit} but training stops after '
                    f'{run_length}: it never takes effect'
                )
            elif NO_END > scheduler.end > run_length:
                runner.logger.warning(
                    f'{name} ends at {scheduler.end} {unit} but training stops after {run_length}: '
                    'the learning rate never reaches the value the schedule was written for; '
                    f'shorten the schedule with the run if that is not intended'
                )
