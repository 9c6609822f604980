"""The rows of the bad-input tables (test_bad_input.py, test_bad_checkpoints.py): where a row works, and how it runs."""

from pathlib import Path
from typing import Callable, NamedTuple, Optional

import pytest


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
