"""effective_rank on matrices of known rank, and FeatureRankHook: logged ranks, the JSON-lines file, unchanged
training."""

import json
from pathlib import Path

import pytest
import torch
from mmengine.runner import Runner

from cae_mm.checkpoints import read_checkpoint
from cae_mm.engine.hooks import FeatureRankHook
from cae_mm.evaluation import effective_rank
from tests.engine.hooks.training_run import train_test_config


@pytest.mark.parametrize('rank', [1, 3, 8, 20])
def test_rank_k_matrix_with_equal_singular_values_scores_k(rank):
    generator = torch.Generator().manual_seed(0)
    left, _ = torch.linalg.qr(torch.randn(200, rank, generator=generator))  # (200, k) orthonormal columns
    right, _ = torch.linalg.qr(torch.randn(64, rank, generator=generator))  # (64, k)
    matrix = left @ right.T  # (200, 64), k singular values of 1
    assert effective_rank(matrix) == pytest.approx(rank, rel=1e-3)


def test_collapsed_features_score_about_one_and_isotropic_ones_near_full():
    generator = torch.Generator().manual_seed(0)
    direction = torch.randn(1, 192, generator=generator)
    collapsed = direction + 1e-4 * torch.randn(4096, 192, generator=generator)  # (4096, 192), all rows nearly equal
    assert effective_rank(collapsed) < 1.1
    isotropic = torch.randn(4096, 192, generator=generator)
    assert 170 < effective_rank(isotropic) <= 192


def test_leading_dimensions_are_flattened_and_zero_features_score_one():
    tokens = torch.randn(4, 16, 32, generator=torch.Generator().manual_seed(1))  # (B, N, C)
    assert effective_rank(tokens) == pytest.approx(effective_rank(tokens.reshape(64, 32)))
    assert effective_rank(torch.zeros(10, 5)) == 1.0


def train(work_dir: Path, data_root: Path, with_hook: bool, max_iters: int = 4) -> Runner:
    hook = dict(type='cae_mm.FeatureRankHook', interval=2, num_images=4) if with_hook else None
    return train_test_config(work_dir, data_root, hook, max_iters, logger_interval=2)


def test_hook_logs_ranks_and_leaves_training_unchanged(tmp_path, demo_data_root):
    """Ranks before training, at iteration 2 and 4 (the last), in the JSON-lines file and the message hub; the final
    weights equal, bit for bit, those of the same run without the hook."""
    runner = train(tmp_path / 'with_hook', demo_data_root, with_hook=True)
    train(tmp_path / 'without_hook', demo_data_root, with_hook=False)

    records = [json.loads(line) for line in (tmp_path / 'with_hook' / 'feature_rank.jsonl').read_text().splitlines()]
    assert [record['iter'] for record in records] == [0, 2, 4]
    for record in records:
        assert set(record) == {'iter', 'rank_patch', 'rank_cls', 'rank_alignment_target'}
        # the test encoder is 64 wide; 4 images give 4 cls tokens
        assert 1 <= record['rank_patch'] <= 64 and 1 <= record['rank_cls'] <= 4
        assert 1 <= record['rank_alignment_target'] <= 64
    assert runner.message_hub.get_scalar('train/rank_patch').current() == pytest.approx(records[-1]['rank_patch'])

    with_hook = read_checkpoint(tmp_path / 'with_hook' / 'iter_4.pth')['state_dict']
    without_hook = read_checkpoint(tmp_path / 'without_hook' / 'iter_4.pth')['state_dict']
    for key, value in without_hook.items():
        assert torch.equal(with_hook[key], value), key


def test_ranks_follow_the_weights(tmp_path, demo_data_root):
    """Collapsing the encoder's output (final LayerNorm weight and bias to a constant direction) drops the rank to
    about 1."""
    runner = train(tmp_path, demo_data_root, with_hook=True, max_iters=1)
    (hook,) = [hook for hook in runner.hooks if isinstance(hook, FeatureRankHook)]
    before = hook.ranks(runner.model)
    assert before == hook.ranks(runner.model)
    with torch.no_grad():
        runner.model.backbone.norm.weight.zero_()
        runner.model.backbone.norm.bias.fill_(1.0)
    after = hook.ranks(runner.model)
    assert before['rank_patch'] > 2 and after['rank_patch'] < 1.01


@pytest.mark.parametrize('arguments', [dict(interval=0), dict(num_images=1)])
def test_bad_settings_are_refused(arguments):
    with pytest.raises(ValueError, match='interval must be positive'):
        FeatureRankHook(**arguments)
