"""Fixtures of the downstream tests: rendered datasets on disk (real photographs as backgrounds), one thread."""

from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope

from tools.data.rendered_scenes import write_ade20k_scenes, write_coco_instances
from tests.downstream.runs import write_splits


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny models' kernels are too small to share out: on a busy 2-core machine, thread hand-offs cost more
    than the work (measured: 30x slower attention), so these tests run single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    DefaultScope._instance_dict.clear()


@pytest.fixture(scope='session')
def photographs(demo_data_root: Path) -> list[Path]:
    return sorted((demo_data_root / 'images').glob('*.png'))


@pytest.fixture(scope='session')
def rendered_coco(tmp_path_factory: pytest.TempPathFactory, photographs: list[Path]) -> Path:
    """COCO-format scenes on real photographs: 6 training and 4 validation images."""
    root = tmp_path_factory.mktemp('rendered_coco')
    return write_splits(write_coco_instances, root, {'train': 6, 'val': 4}, photographs)


@pytest.fixture(scope='session')
def rendered_ade(tmp_path_factory: pytest.TempPathFactory, photographs: list[Path]) -> Path:
    """ADE20K-format scenes on real photographs: 4 training and 2 validation images."""
    root = tmp_path_factory.mktemp('rendered_ade')
    return write_splits(write_ade20k_scenes, root, {'training': 4, 'validation': 2}, photographs)
