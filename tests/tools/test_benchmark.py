"""tools/benchmark.py: its memory tracker and FLOP count are right, and a small run compares the two CAEs."""

import json

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import REPO_ROOT
from tests.tools.tool_loading import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('benchmark.py')


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
    result = tool.main(
        [
            '--sizes',
            'test',
            '--tokenizer-hidden',
            '8',
            '--batch-size',
            '2',
            '--warmup',
            '1',
            '--steps',
            '1',
            '--output',
            str(output),
        ]
    )
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


def test_matmul_reference_is_the_best_of_its_samples(tool):
    reference = tool.MatmulReference('cpu', torch.float32)
    reference.samples.extend([3e11, 4e11, 2e11])
    records = [dict(achieved_flops_per_second=2e11)]
    tool.set_matmul_fractions(records, reference)
    assert reference.best == 4e11 and records[0]['fraction_of_matmul_rate'] == 0.5


def test_scaling_table_and_plot(tool, tmp_path):
    records = [
        dict(
            model=model,
            image_size=size,
            num_masked=masked,
            step_seconds=size / 100,
            images_per_second=1.0,
            peak_bytes=2 * 2**30 + size * 2**20,
            state_bytes=2 * 2**30,
        )
        for model in ('cae_mm', 'mmpretrain')
        for size, masked in ((224, 98), (448, 392), (224, 78))
    ]
    table = tool.scaling_table(records)
    assert '| 448 | 392 + 392 | cae_mm |' in table and len(table.splitlines()) == 2 + len(records)
    tool.plot_scaling(records, tmp_path / 'scaling.png')
    assert (tmp_path / 'scaling.png').stat().st_size > 0


def test_end_to_end_configs_use_the_same_photos_weights_and_batch(tool, tmp_path):
    photos = REPO_ROOT.parent / 'shared' / 'data' / 'tiny_imagenet_10' / 'train'
    if not photos.is_dir():
        pytest.skip(f'{photos} is not here')
    args = tool.parse_args(
        ['--end-to-end', '--batch-size', '3', '--warmup', '1', '--steps', '2', '--photos', str(photos)]
    )
    weights = tmp_path / 'dalle_encoder.pth'
    configs = {name: tool.end_to_end_config(name, args, weights, tmp_path) for name in ('cae_mm', 'mmpretrain')}
    assert configs['cae_mm'].model.target_generator.checkpoint == str(weights)
    assert configs['mmpretrain'].model.target_generator.init_cfg.checkpoint == str(weights)
    for cfg in configs.values():
        assert cfg.train_dataloader.batch_size == 3 and cfg.train_dataloader.num_workers == 0
        assert cfg.train_dataloader.dataset.data_root == str(photos)
        assert cfg.train_cfg.max_iters == 3
        assert tool.pipeline_images_per_second(cfg, count=2) > 0
    lanczos = [
        step
        for step in configs['cae_mm'].train_dataloader.dataset.pipeline
        if step.get('second_interpolation') == 'lanczos'
    ]
    assert lanczos and lanczos[0]['second_size'] == 112
