"""Running the tiny downstream configs: point them at rendered data, train through the Runner or tools/train.py."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

from mmengine.config import Config
from mmengine.runner import Runner

from tests.conftest import CONFIG_ROOT, REPO_ROOT

MASK_RCNN_TEST = CONFIG_ROOT / 'mask_rcnn' / 'mask-rcnn_cae-vit-test-p16_1xb2-2e_rendered-coco_test.py'
CASCADE_TEST = CONFIG_ROOT / 'cascade_mask_rcnn' / 'cascade-mask-rcnn_cae-vit-test-p16_1xb2-2e_rendered-coco_test.py'
VITDET_TEST = CONFIG_ROOT / 'vitdet' / 'mask-rcnn_cae-vit-test-p16-window4-sfp_1xb2-2e_rendered-coco_test.py'
UPERNET_TEST = CONFIG_ROOT / 'upernet' / 'upernet_cae-vit-test-p16_1xb2-4i_rendered-ade20k-128x128_test.py'


def write_splits(
    write: Callable[..., Path], root: Path, counts: dict[str, int], photographs: Sequence[Path] = ()
) -> Path:
    """Rendered scenes written by ``write`` (``write_coco_instances`` or ``write_ade20k_scenes``): ``counts`` images
    per split, the i-th split seeded i; returns ``root``."""
    for seed, (split, count) in enumerate(counts.items()):
        write(root, split, count, seed=seed, photographs=photographs)
    return root


def segmentation_config(path: Path, data_root: Path, work_dir: Path) -> Config:
    """A tiny downstream config reading ``data_root`` and writing to ``work_dir``, quiet logs."""
    cfg = Config.fromfile(path)
    cfg.work_dir = str(work_dir)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = str(data_root)
    cfg.log_level = 'WARNING'
    return cfg


def detection_config(path: Path, data_root: Path, work_dir: Path) -> Config:
    """A tiny detection config reading ``data_root`` (its annotations too) and writing to ``work_dir``, quiet logs."""
    cfg = segmentation_config(path, data_root, work_dir)
    cfg.val_evaluator.ann_file = str(data_root / 'annotations' / 'instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    return cfg


def train_and_validate(cfg: Config) -> tuple[Runner, dict[str, float]]:
    """Train with the config's schedule (which validates at its end) and return the runner and final metrics."""
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    metrics = {key[len('val/') :]: hub.get_scalar(key).current() for key in hub.log_scalars if key.startswith('val/')}
    return runner, metrics


def run_train_tool(config: Path, work_dir: Path, *cfg_options: str) -> subprocess.CompletedProcess:
    """``python tools/train.py CONFIG --work-dir ... --cfg-options ...`` as a user runs it."""
    command = [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir)]
    if cfg_options:
        command += ['--cfg-options', *cfg_options]
    environment = dict(os.environ, OMP_NUM_THREADS='1')
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=environment)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


def logged_validation(work_dir: Path) -> dict[str, float]:
    """The last validation record of a run's ``scalars.json``."""
    (scalars,) = work_dir.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return next(record for record in reversed(records) if 'loss' not in record)
