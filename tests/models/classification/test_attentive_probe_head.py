"""Tests for cae_mm.models.heads.AttentiveProbeHead (one learned query over all frozen tokens)."""

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from cae_mm.models.classification import AttentiveProbeHead
from tests.conftest import tiny_classifier


def reference_logits(head: AttentiveProbeHead, tokens: torch.Tensor) -> torch.Tensor:
    """The head written out by hand: LN'd query/keys/values, per-head softmax attention, projection, running-stat
    BatchNorm, Linear."""
    attention = head.cross_attention
    heads, channels = attention.num_heads, tokens.shape[-1]
    query = (
        F.layer_norm(
            head.query_token.expand(tokens.shape[0], 1, channels),
            (channels,),
            head.norm_query.weight,
            head.norm_query.bias,
            1e-6,
        )
        @ attention.q.weight.T
        + attention.q_bias
    )
    key = F.layer_norm(tokens, (channels,), head.norm_key.weight, head.norm_key.bias, 1e-6) @ attention.k.weight.T
    value = (
        F.layer_norm(tokens, (channels,), head.norm_value.weight, head.norm_value.bias, 1e-6) @ attention.v.weight.T
        + attention.v_bias
    )
    pooled = []
    for index in range(heads):
        part = slice(index * channels // heads, (index + 1) * channels // heads)
        weights = torch.softmax(query[..., part] @ key[..., part].transpose(1, 2) / (channels // heads) ** 0.5, dim=-1)
        pooled.append(weights @ value[..., part])  # (B, 1, C / heads)
    pooled = torch.cat(pooled, dim=-1)[:, 0] @ attention.proj.weight.T + attention.proj.bias  # (B, C)
    normalised = (pooled - head.norm.running_mean) / torch.sqrt(head.norm.running_var + head.norm.eps)
    return normalised @ head.fc.weight.T + head.fc.bias


def trained_head(num_classes: int = 4, channels: int = 16, num_heads: int = 4) -> AttentiveProbeHead:
    """A head whose parameters and BatchNorm statistics have moved away from their initial values."""
    head = AttentiveProbeHead(num_classes=num_classes, in_channels=channels, num_heads=num_heads)
    with torch.no_grad():
        for parameter in head.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    head.train()
    for _ in range(5):
        head((torch.randn(8, 10, channels),))
    return head.eval()


def test_initialisation():
    """Zero query; unit LayerNorms; attention Linear weights std about .02; classifier std about .01, biases 0."""
    head = AttentiveProbeHead(num_classes=10, in_channels=256, num_heads=8)
    assert torch.count_nonzero(head.query_token) == 0
    assert head.norm.weight is None and head.norm.bias is None
    assert abs(head.cross_attention.q.weight.std().item() - 0.02) < 0.002
    assert abs(head.fc.weight.std().item() - 0.01) < 0.001
    assert torch.count_nonzero(head.fc.bias) == 0 and torch.count_nonzero(head.cross_attention.proj.bias) == 0
    assert head.no_weight_decay() == {'query_token'}


def test_logits_equal_the_hand_written_reference():
    """Eval-mode logits equal the written-out computation (no residual, no MLP, running statistics)."""
    head = trained_head()
    tokens = torch.randn(3, 10, 16)
    torch.testing.assert_close(head((tokens,)), reference_logits(head, tokens), rtol=1e-4, atol=1e-5)


def test_prediction_does_not_depend_on_the_evaluation_batch():
    """An image's eval logits are the same alone, in a batch of 2 or in a batch of 32 (the official release used
    batch statistics here); in training mode they do depend on the batch."""
    head = trained_head()
    tokens = torch.randn(32, 10, 16)
    alone, pair, full = head((tokens[:1],)), head((tokens[:2],))[:1], head((tokens,))[:1]
    torch.testing.assert_close(alone, pair)
    torch.testing.assert_close(alone, full)
    head.train()
    assert (head((tokens[:2],))[:1] - head((tokens,))[:1]).abs().max() > 1e-3


def test_query_attends_to_every_token_including_cls():
    """The pooled feature depends on every token (cls and patches): each gets a non-zero gradient."""
    head = trained_head()
    tokens = torch.randn(2, 10, 16, requires_grad=True)
    head((tokens,)).sum().backward()
    assert (tokens.grad.abs().sum(dim=(0, 2)) > 0).all()


def test_every_head_parameter_learns_once_the_query_moves():
    """With the zero query the first step pools uniformly, so the key path and the query's LayerNorm weight and
    projection get no gradient yet; after one SGD step every parameter gets one."""
    head = AttentiveProbeHead(num_classes=3, in_channels=16, num_heads=4).train()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.5)
    samples = [DataSample().set_gt_label(label) for label in (0, 1, 2, 1)]
    tokens = torch.randn(4, 10, 16)

    def parameters_without_gradient():
        optimizer.zero_grad()
        head.loss((tokens,), samples)['loss'].backward()
        return {
            name
            for name, parameter in head.named_parameters()
            if parameter.grad is None or parameter.grad.abs().sum() == 0
        }

    assert parameters_without_gradient() == {
        'norm_query.weight',
        'cross_attention.q.weight',
        'cross_attention.k.weight',
        'norm_key.weight',
        'norm_key.bias',
    }
    optimizer.step()
    assert parameters_without_gradient() == set()


def test_bad_inputs_are_errors():
    """Pooled features instead of tokens, or labels beyond the classes, raise ValueError."""
    head = AttentiveProbeHead(num_classes=3, in_channels=16, num_heads=4)
    with pytest.raises(ValueError, match="out_type='raw'"):
        head((torch.randn(2, 16),))
    with pytest.raises(ValueError, match="outside the head's 3 classes"):
        head.loss((torch.randn(2, 5, 16),), [DataSample().set_gt_label(5), DataSample().set_gt_label(0)])
    with pytest.raises(ValueError, match='not divisible by num_heads'):
        AttentiveProbeHead(num_classes=3, in_channels=16, num_heads=5)


def test_classifier_prediction_does_not_depend_on_the_evaluation_batch():
    """Through mmpretrain's ImageClassifier (frozen encoder + this head), after training steps have moved the
    BatchNorm statistics, an image's predicted scores are the same alone and inside a batch of 16."""
    classifier = tiny_classifier(
        dict(out_type='raw', frozen_stages=2),
        dict(type='cae_mm.AttentiveProbeHead', num_classes=3, in_channels=64, num_heads=4),
    )
    optimizer = torch.optim.SGD([p for p in classifier.parameters() if p.requires_grad], lr=0.1)
    classifier.train()
    for _ in range(3):
        samples = [DataSample().set_gt_label(label) for label in torch.randint(0, 3, (8,)).tolist()]
        optimizer.zero_grad()
        classifier.loss(torch.randn(8, 3, 32, 32), samples)['loss'].backward()
        optimizer.step()
    classifier.eval()
    images = torch.randn(16, 3, 32, 32)
    with torch.no_grad():
        alone = classifier(images[:1], mode='predict')[0].pred_score
        in_batch = classifier(images, mode='predict')[0].pred_score
    torch.testing.assert_close(alone, in_batch)


def test_a_training_batch_of_one_sample_names_the_batch_size_not_batch_norm():
    """BatchNorm cannot train on one sample: the error names train_dataloader.batch_size/drop_last."""
    head = AttentiveProbeHead(num_classes=3, in_channels=16, num_heads=4).train()
    with pytest.raises(
        ValueError,
        match=r'AttentiveProbeHead trains a BatchNorm, .* this batch has 1: set '
        r'train_dataloader\.batch_size >= 2',
    ):
        head.loss((torch.randn(1, 5, 16),), [DataSample().set_gt_label(1)])
    samples = [DataSample().set_gt_label(label) for label in (1, 0)]
    assert torch.isfinite(head.loss((torch.randn(2, 5, 16),), samples)['loss'])
