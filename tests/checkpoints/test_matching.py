"""Tests for cae_mm.checkpoints.matching and the ``load_from`` guard of cae_mm.Runner: a checkpoint that matches no
model key is an error, not a silent start from random weights; optimizer layouts are compared before resuming."""

from pathlib import Path

import pytest
import torch
from mmengine.model import BaseModel
from torch import nn

from cae_mm.checkpoints import (
    CheckpointMismatchError,
    CheckpointReadError,
    Runner,
    require_optimizer_match,
    require_overlap,
)


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(2, 2)


class Model(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = Encoder()
        self.head = nn.Linear(2, 3)

    def forward(self, *args, **kwargs):
        raise NotImplementedError


def saved(tmp_path: Path, content) -> str:
    path = tmp_path / 'weights.pth'
    torch.save(content, path)
    return str(path)


def test_prefixed_checkpoint_into_a_part_suggests_the_prefix():
    with pytest.raises(CheckpointMismatchError, match=r"keys start with 'backbone\.'.*prefix='backbone\.'"):
        require_overlap(Model().state_dict(), Encoder(), 'x.pth')


def test_part_checkpoint_into_the_whole_model_suggests_the_part():
    with pytest.raises(CheckpointMismatchError, match=r"holds only the model's 'backbone'"):
        require_overlap(Encoder().state_dict(), Model(), 'x.pth')


def test_unrelated_checkpoint_is_called_so():
    with pytest.raises(CheckpointMismatchError, match=r'none of the 1 tensors in x.pth .* another model'):
        require_overlap({'conv.weight': torch.zeros(1)}, Model(), 'x.pth')


def runner(tmp_path: Path) -> Runner:
    return Runner(model=Model(), work_dir=str(tmp_path / 'work_dir'), default_scope='mmpretrain')


def test_load_from_with_partial_overlap_loads_the_matching_tensors(tmp_path):
    """Fine-tuning swaps heads on purpose: what matches loads, the rest is mmengine's usual warning."""
    source = Model()
    state_dict = {key: value for key, value in source.state_dict().items() if key.startswith('backbone.')}
    state_dict['head.weight'] = torch.zeros(5, 2)
    target = runner(tmp_path)
    target.load_checkpoint(saved(tmp_path, {'state_dict': state_dict}))
    torch.testing.assert_close(target.model.backbone.proj.weight, source.backbone.proj.weight)


@pytest.mark.parametrize(
    'content, message',
    [
        ({}, 'holds no weights: the checkpoint is an empty dict'),
        ([1, 2], 'holds no weights: the checkpoint is a list'),
        (torch.zeros(3), 'holds no weights: the checkpoint is a single tensor'),
        ({'meta': {}, 'state_dict': {}}, "holds no weights: its 'state_dict' entry is an empty dict"),
    ],
    ids=['empty-dict', 'list', 'tensor', 'empty-state-dict'],
)
def test_load_from_without_weights_is_an_error(tmp_path, content, message):
    with pytest.raises(CheckpointReadError, match=message):
        runner(tmp_path).load_checkpoint(saved(tmp_path, content))


def test_load_from_of_another_model_is_an_error(tmp_path):
    with pytest.raises(CheckpointMismatchError, match='nothing would be loaded'):
        runner(tmp_path).load_checkpoint(saved(tmp_path, {'state_dict': {'conv.weight': torch.zeros(1)}}))


def adam_state(model: nn.Module) -> dict:
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, model.in_features)).sum().backward()
    optimizer.step()
    return optimizer.state_dict()


def test_optimizer_of_another_layout_or_size_is_named():
    small, large = nn.Linear(2, 3), nn.Linear(4, 3)
    with pytest.raises(CheckpointMismatchError, match=r"optimizer state 'exp_avg' of parameter 0 has shape \(3, 2\)"):
        require_optimizer_match(adam_state(small), torch.optim.AdamW(large.parameters()), 'x.pth')
    groups = torch.optim.AdamW([{'params': [large.weight]}, {'params': [large.bias]}])
    with pytest.raises(CheckpointMismatchError, match=r'1 parameter groups of sizes \[2\], this run has 2 groups'):
        require_optimizer_match(adam_state(small), groups, 'x.pth')
    require_optimizer_match(adam_state(large), torch.optim.AdamW(large.parameters()), 'x.pth')
