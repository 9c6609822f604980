"""The rows of the bad-input tables (test_bad_input.py, test_bad_checkpoints.py): where a row works, how it runs,
and the tiny CAE that the checkpoint rows load into."""

from pathlib import Path
from typing import Callable, NamedTuple, Optional, Union

import pytest
import torch

from cae_mm.checkpoints import Runner
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config


class Workspace(NamedTuple):
    """Where a row writes its files, and the bundled photographs."""

    folder: Path
    demo_images: Path


def run_row(
    action: Callable[[Workspace], None], error: Optional[type[Exception]], message: str, workspace: Workspace
) -> None:
    """Run one row: ``action`` raises ``error`` with a message matching ``message``, or, when ``error`` is None,
    returns (the action asserts how the input is handled)."""
    if error is None:
        action(workspace)
        return
    with pytest.raises(error, match=message):
        action(workspace)


def tiny_cae() -> torch.nn.Module:
    return MODELS.build(tiny_cae_config())


def load_from(workspace: Workspace, checkpoint: Union[str, Path]) -> None:
    """``load_from`` of cae_mm's Runner (what every cae_mm config uses) into the tiny CAE."""
    runner = Runner(model=tiny_cae(), work_dir=str(workspace.folder / 'work_dir'), default_scope='mmpretrain')
    runner.load_checkpoint(str(checkpoint))
