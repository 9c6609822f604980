"""Tests for cae_mm.models.heads.FineTuningHead (LayerNorm on pooled tokens, tiny-initialised Linear)."""

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from cae_mm.models.backbones import CAEVisionTransformer
from cae_mm.models.classification import FineTuningHead


def test_initialisation_scales_the_classifier_down():
    """LayerNorm (1, 0); Linear weight std about .02 x .001 and bias 0."""
    head = FineTuningHead(num_classes=100, in_channels=256)
    assert torch.equal(head.norm.weight, torch.ones(256)) and head.norm.eps == 1e-6
    assert abs(head.fc.weight.std().item() - 2e-5) < 2e-6
    assert torch.count_nonzero(head.fc.bias) == 0


def test_logits_are_layer_norm_then_linear_on_mean_pooled_patches():
    """With the encoder's avg_featmap and no final norm, logits = Linear(LN(mean of the patch tokens))."""
    encoder = CAEVisionTransformer(arch='test', patch_size=8, out_type='avg_featmap', final_norm=False).eval()
    raw = CAEVisionTransformer(arch='test', patch_size=8, out_type='raw', final_norm=False).eval()
    raw.load_state_dict(encoder.state_dict())
    head = FineTuningHead(num_classes=5, in_channels=64)
    with torch.no_grad():
        head.fc.weight.normal_()
    images = torch.randn(2, 3, 32, 32)
    (tokens,) = raw(images)
    expected = F.layer_norm(tokens[:, 1:].mean(1), (64,), eps=1e-6) @ head.fc.weight.T + head.fc.bias
    torch.testing.assert_close(head(encoder(images)), expected)


def test_default_loss_is_label_smoothing_point_one():
    """Hard labels: loss = CE against 0.9 x one-hot + 0.1 / K; Mixup's soft targets are smoothed the same way."""
    head = FineTuningHead(num_classes=4, in_channels=8)
    with torch.no_grad():
        head.fc.weight.normal_()
    features = torch.randn(3, 8)
    logits = head((features,))
    labels = torch.tensor([0, 3, 1])
    smoothed = 0.9 * F.one_hot(labels, 4).float() + 0.1 / 4
    expected = -(smoothed * logits.log_softmax(-1)).sum(-1).mean()
    hard = [DataSample().set_gt_label(int(label)) for label in labels]
    torch.testing.assert_close(head.loss((features,), hard)['loss'], expected)
    soft_target = torch.tensor([[0.5, 0.5, 0.0, 0.0]] * 3)
    soft = [DataSample().set_gt_score(score) for score in soft_target]
    expected_soft = -((0.9 * soft_target + 0.1 / 4) * logits.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(head.loss((features,), soft)['loss'], expected_soft)


def test_class_count_mismatch_is_an_error():
    """Soft targets of another width, labels beyond K, or tokens instead of pooled features raise ValueError."""
    head = FineTuningHead(num_classes=4, in_channels=8)
    with pytest.raises(ValueError, match=r'soft targets cover \[10\] classes but the head has 4'):
        head.loss((torch.randn(2, 8),), [DataSample().set_gt_score(torch.full((10,), 0.1))] * 2)
    with pytest.raises(ValueError, match="outside the head's 4 classes"):
        head.loss((torch.randn(2, 8),), [DataSample().set_gt_label(4)] * 2)
    with pytest.raises(ValueError, match="out_type='avg_featmap'"):
        head((torch.randn(2, 5, 8),))
