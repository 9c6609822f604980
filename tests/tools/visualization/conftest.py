"""Fixtures for the visualisation tools: a checkpoint of the tiny config made here, full and backbone-only."""

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from PIL import Image

from cae_mm.registry import MODELS
from tools.model_converters.checkpoint_layouts import cae_mm_to_backbone
from tools.visualization.model_loading import load_config
from tests.conftest import TEST_CONFIG
from tests.tools.tool_loading import load_tool


def tool(name: str) -> ModuleType:
    """Import ``tools/visualization/{name}.py`` as a module."""
    return load_tool(f'visualization/{name}.py')


def read_png(path: Path) -> np.ndarray:
    assert path.is_file()
    picture = np.asarray(Image.open(path))
    assert picture.ndim == 3 and picture.shape[-1] == 3
    assert picture.std() > 0
    return picture


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full checkpoint of the tiny pixel config (seeded random weights), laid out as a Runner writes one."""
    torch.manual_seed(0)
    model = MODELS.build(load_config(TEST_CONFIG).model)
    path = tmp_path_factory.mktemp('checkpoints') / 'tiny.pth'
    torch.save(dict(meta=dict(iter=8), state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='session')
def backbone_checkpoint(tiny_checkpoint: Path) -> Path:
    """The encoder alone (``backbone.*`` keys), as tools/model_converters/cae_mm_to_backbone.py writes it."""
    path = tiny_checkpoint.with_name('tiny_backbone.pth')
    state_dict = torch.load(tiny_checkpoint, weights_only=True)['state_dict']
    torch.save(dict(meta=dict(), state_dict=cae_mm_to_backbone(state_dict)), path)
    return path
