"""AlignmentWeightWarmupHook: λ ramps linearly from 0 to the configured weight, by iteration number."""

from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from cae_mm.engine.hooks import AlignmentWeightWarmupHook
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config


def test_weight_follows_the_iteration_and_ends_at_the_configured_lambda():
    model = MODELS.build(tiny_cae_config())
    assert model.head.alignment_weight == 2.0
    runner = SimpleNamespace(model=model, iter=0, message_hub=MessageHub.get_instance('alignment_weight_test'))
    hook = AlignmentWeightWarmupHook(warmup_iters=100)
    hook.before_train(runner)
    weights = {}
    for step in (0, 25, 50, 100, 150, 25):  # the last one: a resumed run at an earlier iteration
        runner.iter = step
        hook.before_train_iter(runner, batch_idx=step)
        weights[step] = model.head.alignment_weight
    assert weights == {0: 0.0, 25: 0.5, 50: 1.0, 100: 2.0, 150: 2.0}
    assert runner.message_hub.get_scalar('train/alignment_weight').current() == 0.5


def test_a_model_without_alignment_weight_and_a_bad_warmup_are_refused():
    with pytest.raises(ValueError, match='warmup_iters'):
        AlignmentWeightWarmupHook(warmup_iters=0)
    runner = SimpleNamespace(model=SimpleNamespace(head=object()))
    with pytest.raises(ValueError, match='alignment_weight'):
        AlignmentWeightWarmupHook(warmup_iters=10).before_train(runner)
