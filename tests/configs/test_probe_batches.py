"""The probe heads train a BatchNorm, which fails on a batch of one sample: every probe config trains on batches of
at least 2 and drops an epoch's last, incomplete batch (which could hold a single sample)."""

import pytest
from mmengine.config import Config

from tests.conftest import CONFIG_ROOT

PROBE_CONFIGS = sorted([*(CONFIG_ROOT / 'linear_probe').glob('*.py'), *(CONFIG_ROOT / 'attentive_probe').glob('*.py')])


def test_every_probe_family_is_found():
    assert {path.parent.name for path in PROBE_CONFIGS} == {'linear_probe', 'attentive_probe'}


@pytest.mark.parametrize('path', PROBE_CONFIGS, ids=lambda path: path.name)
def test_probe_configs_drop_the_last_batch(path):
    loader = Config.fromfile(path).train_dataloader
    assert loader.batch_size >= 2
    assert loader.drop_last is True
