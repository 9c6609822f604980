"""tools/benchmarks/benchmark_probes.py: its options reach the twin configs; its report states what it measured."""

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.tools.tool_loading import load_tool


@pytest.mark.parametrize('protocol', ['linear', 'attentive'])
@pytest.mark.parametrize('checkpoint', [Path('/x/iter_1500.pth'), None])
def test_probe_options_set_encoder_seed_and_schedule(protocol, checkpoint):
    """Through tools/train.py's option handling: the encoder source, seed, lr, epochs and a warmup of a ninth."""
    benchmark, train = load_tool('benchmarks/benchmark_probes.py'), load_tool('train.py')
    options = benchmark.probe_options(protocol, checkpoint, seed=2, epochs=18)
    cfg = train.build_config(train.parse_args([str(REPO_ROOT / benchmark.PROBES[protocol]), '--cfg-options', *options]))
    if checkpoint is None:
        assert cfg.model.backbone.init_cfg is None
    else:
        assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')
    lr = benchmark.PROBE_LEARNING_RATES[protocol]
    assert cfg.randomness.seed == 2 and cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.train_cfg.max_epochs == cfg.train_cfg.val_interval == 18
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin == 2 and cosine.end == 18
    assert warmup.start_factor * lr == pytest.approx(1e-6)


def test_report_tables_every_run_and_judges_the_claims():
    """Each (probe, encoder) row lists its seeds; a claim holds only when the mean is higher."""
    benchmark = load_tool('benchmarks/benchmark_probes.py')
    results = {
        ('linear', 'pretrained'): [60.0, 62.0],
        ('linear', 'random'): [61.0, 63.0],
        ('attentive', 'pretrained'): [80.0, 90.0],
        ('attentive', 'random'): [70.0, 72.0],
    }
    report = benchmark.write_report(
        benchmark.parse_args(['--seeds', '0', '1']),
        results,
        60.0,
        [30.0] * 8,
        'python tools/benchmarks/benchmark_probes.py --seeds 0 1',
    )
    assert '| attentive | pretrained | 85.0 ± 7.1 | 80.0, 90.0 |' in report
    assert 'Pretrained > random, linear probe: does not hold: 61.0 vs 62.0 on average, higher in 0 of 2 seeds' in report
    assert 'Attentive > linear on the pretrained encoder: holds: 85.0 vs 61.0' in report
    assert 'Pretraining: 1500 iterations = 96,000 images, 1.0 min' in report
