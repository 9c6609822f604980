"""Shared fixtures and helpers: the bundled photographs and the labelled digits laid out once per session, tiny CAE
model configs and classifiers, a free port for distributed runs."""

import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import cae_mm  # noqa: F401  (registers cae_mm's modules)
from tools.data.demo_images import prepare_demo_dataset
from tools.data.labelled_demo_datasets import prepare_labelled_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_ROOT = REPO_ROOT / 'configs'
TEST_CONFIG = CONFIG_ROOT / 'cae' / 'cae_vit-test-p8_1xb4-pixel-8i_test.py'


@pytest.fixture(scope='session')
def demo_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset (22 real photographs) in a session-wide temporary folder."""
    return prepare_demo_dataset(tmp_path_factory.mktemp('cae_demo'))


@pytest.fixture(scope='session')
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-learn's labelled digits as ``train/`` and ``val/`` class folders, in a session-wide temporary folder."""
    return prepare_labelled_dataset('digits', tmp_path_factory.getbasetemp() / 'labelled')


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(autouse=True)
def _mmpretrain_scope() -> None:
    # A Runner leaves its config's scope current: without this, a test that builds a model through the registries
    # would depend on whether an mmdet or mmseg test ran before it.
    init_default_scope('mmpretrain')


def free_port() -> int:
    """A TCP port no process listens on now, for a distributed run's MASTER_PORT."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def tiny_cae_config(neck_dims: int = 64, drop_path_rate: float = 0.0, patch_size: int = 8) -> dict:
    """A CAE small enough for unit tests: 64 px images, 8 px patches, 64-wide encoder, 2 blocks, 1+1 head blocks."""
    return dict(
        type='cae_mm.CAE',
        backbone=dict(
            type='cae_mm.CAEVisionTransformer', arch='test', patch_size=patch_size, drop_path_rate=drop_path_rate
        ),
        neck=dict(
            type='cae_mm.LatentContextRegressor',
            embed_dims=neck_dims,
            in_dims=64,
            depth=2,
            num_heads=4,
            drop_path_rate=drop_path_rate,
        ),
        head=dict(
            type='cae_mm.CAEDecoderHead',
            embed_dims=neck_dims,
            out_dims=patch_size * patch_size * 3,
            depth=1,
            num_heads=4,
            drop_path_rate=drop_path_rate,
            reconstruction_loss='mse',
            alignment_weight=2.0,
        ),
        target_generator=dict(type='cae_mm.NormalizedPixelTarget', patch_size=patch_size),
    )


def tiny_classifier(backbone: dict, head: dict) -> torch.nn.Module:
    """mmpretrain's ``ImageClassifier`` on the test-size encoder (64 wide, 2 blocks, 8 px patches) with ``head``.

    Args:
        backbone: ``CAEVisionTransformer`` arguments besides the test arch and patch size (output, freezing, weights).
        head: the head's config.
    """
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS

    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='cae_mm.CAEVisionTransformer', arch='test', patch_size=8, **backbone),
            head=head,
        )
    )
