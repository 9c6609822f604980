"""tools/benchmark.py: its memory tracker and FLOP count are right, and a small run compares the two CAEs."""
import importlib.util
import json

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import REPO_ROOT


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('benchmark_tool', REPO_ROOT / 'tools' / 'benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tracker_counts_live_tensors_and_their_peak(tool):
    existing = torch.zeros(1000)
    tracker = tool.LiveTensorBytes([existing])
    with tracker:
        first = torch.ones(1000)  # 4000 bytes
        second = first * 2  # 4000 more: peak 8000
        del first
        third = second.t()  # a view: no new bytes
        existing.add_(1)  # in place on a tensor from before: not counted
        fourth = torch.ones(500)  # 2000 bytes: live 6000
    assert tracker.peak_bytes == 8000
    assert tracker.live_bytes == 6000
    del second, third, fourth
    assert tracker.live_bytes == 0


def test_flop_count_includes_cpu_flash_attention(tool):
    """torch's counter knows only the GPU attention kernels; the benchmark adds the CPU one, forward and backward."""
    query = torch.randn(2, 4, 16, 8, requires_grad=True)
    forward_flops = 2 * (2 * 2 * 4 * 16 * 16 * 8)  # q @ k^T and weights @ v
    counter = tool.FlopCounterMode(display=False, custom_mapping=tool.CPU_FLASH_ATTENTION_FLOPS)
    with counter, torch.no_grad():
        F.scaled_dot_product_attention(query, query, query)
    assert counter.get_total_flops() == forward_flops
    with counter:
        F.scaled_dot_product_attention(query, query, query).sum().backward()
    backward_flops = tool.sdpa_backward_flop_count(*[query.shape] * 4)
    assert backward_flops > 2 * forward_flops  # gradients of both products, and the weights recomputed
    assert counter.get_total_flops() == forward_flops + backward_flops


def test_phase_timer_counts_nested_phases_once(tool):
    timer = tool.PhaseTimer('cpu')
    with timer.measure('outer'):
        with timer.measure('inner'):
            sum(range(200000))
    assert timer.seconds['inner'] > 0
    with timer.measure('total'):
        with timer.measure('a'):
            sum(range(200000))
    assert set(timer.seconds) == {'outer', 'inner', 'total', 'a'}
    assert timer.seconds['total'] < timer.seconds['a']


def test_small_run_compares_both_models_with_equal_losses(tool, tmp_path):
    """The 'test' size with a narrow DALL-E: both models step, their losses agree, the JSON holds every number."""
    output = tmp_path / 'benchmark.json'
    result = tool.main(['--sizes', 'test', '--tokenizer-hidden', '8', '--batch-size', '2', '--warmup', '1', '--steps',
                        '1', '--output', str(output)])
    assert json.loads(output.read_text())['records'] == result['records']
    records = {(record['target'], record['model']): record for record in result['records']}
    assert set(records) == {('dalle', 'cae_mm'), ('dalle', 'mmpretrain'), ('pixel', 'cae_mm')}
    ours, theirs = records['dalle', 'cae_mm'], records['dalle', 'mmpretrain']
    assert len(ours['losses']) == len(theirs['losses']) == 2
    for our_loss, their_loss in zip(ours['losses'], theirs['losses']):
        assert our_loss == pytest.approx(their_loss, abs=1e-5)
    for record in records.values():
        assert record['peak_bytes'] > record['state_bytes'] > 0
        assert record['flops_per_step'] > 0 and record['step_seconds'] > 0
        assert {'tokenizer', 'encoder, visible patches', 'backward', 'optimizer step'} <= set(record['phase_seconds'])
    # mmpretrain keeps a second encoder (its teacher): more state for the same architecture.
    assert theirs['state_bytes'] > ours['state_bytes']
