"""A short training run of the tiny test config, with or without the hook under test."""

from pathlib import Path
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner

from tests.conftest import TEST_CONFIG


def train_test_config(
    work_dir: Path, data_root: Path, hook: Optional[dict], max_iters: int, logger_interval: int
) -> Runner:
    """Train the tiny test config in this process (drop path on, transforms in the main process).

    Args:
        work_dir: the run's work dir; its name and whether the hook is on name the experiment, so that two runs
            started in the same second log apart.
        data_root: the demo data root (images under ``images/``).
        hook: the hook's config, added to the config's custom hooks; None trains without it.
        max_iters: training iterations.
        logger_interval: iterations between log lines.

    Returns:
        The runner, after training.
    """
    cfg = Config.fromfile(TEST_CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{work_dir.name}-{hook is not None}'
    cfg.train_dataloader.dataset.data_root = str(data_root / 'images')
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.logger.interval = logger_interval
    if hook is not None:
        cfg.custom_hooks = cfg.custom_hooks + [hook]
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner
