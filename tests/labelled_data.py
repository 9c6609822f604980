"""The labelled digits set for tests, written once per test session and shared by the modules that need it."""

from pathlib import Path

import pytest

from tools.data.labelled_demo_datasets import prepare_labelled_dataset


def shared_digits_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<session tmp>/labelled/digits`` with ``train/`` and ``val/`` class folders (written on first use)."""
    return prepare_labelled_dataset('digits', tmp_path_factory.getbasetemp() / 'labelled')
