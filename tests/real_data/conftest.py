"""Locate the shared real data (../shared/data beside the checkout, or $CAE_MM_DATA): skip without it, except in CI."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_root() -> Path:
    """``$CAE_MM_DATA`` or ``../shared/data`` beside the checkout."""
    return Path(os.environ.get('CAE_MM_DATA', REPO_ROOT.parent / 'shared' / 'data')).resolve()


def require_data_set(name: str) -> Path:
    """The folder of one shared data set; a missing folder skips the test, or fails it when ``CI=true``."""
    folder = shared_data_root() / name
    if not folder.is_dir():
        message = (
            f'real data set {name!r} not found at {folder}: put the shared data folder (tiny_imagenet_10, '
            'coco128, coco128_semseg; see its README.md) at ../shared/data beside the checkout, or point '
            'CAE_MM_DATA at it'
        )
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture
def tiny_imagenet_10() -> Path:
    return require_data_set('tiny_imagenet_10')


@pytest.fixture
def coco128() -> Path:
    return require_data_set('coco128')


@pytest.fixture
def coco128_semseg() -> Path:
    return require_data_set('coco128_semseg')
