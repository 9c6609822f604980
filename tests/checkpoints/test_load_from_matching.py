"""Tests for the guard in cae_mm.engine.checkpoint_io: a checkpoint that matches no model key is an error, not a no-op."""
from pathlib import Path

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.runner import load_checkpoint
from torch import nn

from cae_mm.engine import CheckpointMismatchError


class Encoder(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(2, 2)


class Model(BaseModule):

    def __init__(self, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        self.backbone = Encoder()
        self.head = nn.Linear(2, 3)


def saved(tmp_path: Path, state_dict: dict) -> str:
    path = tmp_path / 'weights.pth'
    torch.save(state_dict, path)
    return str(path)


def test_prefixed_checkpoint_into_a_part_suggests_the_prefix(tmp_path):
    checkpoint = saved(tmp_path, Model().state_dict())
    with pytest.raises(CheckpointMismatchError, match=r"keys start with 'backbone\.'.*prefix='backbone\.'"):
        load_checkpoint(Encoder(), checkpoint)


def test_part_checkpoint_into_the_whole_model_suggests_the_part(tmp_path):
    checkpoint = saved(tmp_path, Encoder().state_dict())
    with pytest.raises(CheckpointMismatchError, match=r"holds only the model's 'backbone'"):
        load_checkpoint(Model(), checkpoint)


def test_unrelated_checkpoint_is_called_so(tmp_path):
    checkpoint = saved(tmp_path, {'conv.weight': torch.zeros(1)})
    with pytest.raises(CheckpointMismatchError, match=r'none of the 1 tensors .* another model'):
        load_checkpoint(Model(), checkpoint)


def test_partial_overlap_loads_the_matching_tensors(tmp_path):
    """Fine-tuning swaps heads on purpose: what matches loads, the rest is mmengine's usual warning."""
    source = Model()
    state_dict = {key: value for key, value in source.state_dict().items() if key.startswith('backbone.')}
    state_dict['head.weight'] = torch.zeros(5, 2)
    target = Model()
    load_checkpoint(target, saved(tmp_path, state_dict))
    torch.testing.assert_close(target.backbone.proj.weight, source.backbone.proj.weight)


def test_pretrained_initialiser_is_guarded_too(tmp_path):
    """mmengine's ``Pretrained`` init_cfg (used by host-library modules) goes through the same check."""
    checkpoint = saved(tmp_path, {'something.else': torch.zeros(1)})
    model = Model(init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    with pytest.raises(CheckpointMismatchError, match='nothing would be loaded'):
        model.init_weights()
