"""Tests for cae_mm.models.heads.LinearProbeHead (BatchNorm without affine + Linear on a frozen cls token)."""

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from cae_mm.models.classification import LinearProbeHead
from tests.conftest import tiny_classifier


def labelled(labels):
    return [DataSample().set_gt_label(label) for label in labels]


def test_initialisation_and_no_affine_parameters():
    """The BatchNorm has no parameters (eps 1e-6); the Linear weight has std about .01 and a zero bias."""
    head = LinearProbeHead(num_classes=100, in_channels=256)
    assert head.norm.weight is None and head.norm.bias is None and head.norm.eps == 1e-6
    assert {name for name, _ in head.named_parameters()} == {'fc.weight', 'fc.bias'}
    assert abs(head.fc.weight.std().item() - 0.01) < 0.001
    assert torch.count_nonzero(head.fc.bias) == 0


def test_logits_equal_batch_normalised_linear_map():
    """Training mode: logits = ((x - mean) / sqrt(biased var + 1e-6)) W^T + b over the batch."""
    head = LinearProbeHead(num_classes=5, in_channels=8).train()
    features = torch.randn(6, 8) * 3 + 1
    normalised = (features - features.mean(0)) / torch.sqrt(features.var(0, unbiased=False) + 1e-6)
    torch.testing.assert_close(head((features,)), normalised @ head.fc.weight.T + head.fc.bias)


def test_evaluation_uses_running_statistics_not_the_batch():
    """After training steps, an image's eval logits are the same alone or inside a larger batch."""
    head = LinearProbeHead(num_classes=5, in_channels=8).train()
    for _ in range(5):
        head((torch.randn(16, 8) * 2 + 3,))
    head.eval()
    batch = torch.randn(9, 8) * 2 + 3
    torch.testing.assert_close(head((batch[:1],)), head((batch,))[:1])


def test_loss_is_cross_entropy_and_bad_inputs_are_errors():
    """The default loss is cross-entropy; token sequences and out-of-range labels are refused."""
    head = LinearProbeHead(num_classes=3, in_channels=4)
    features, labels = torch.randn(4, 4), [0, 2, 1, 2]
    loss = head.loss((features,), labelled(labels))['loss']
    torch.testing.assert_close(loss, F.cross_entropy(head((features,)), torch.tensor(labels)))
    with pytest.raises(ValueError, match="out_type='cls_token'"):
        head((torch.randn(4, 5, 4),))
    with pytest.raises(ValueError, match="outside the head's 3 classes"):
        head.loss((features,), labelled([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="outside the head's 3 classes"):
        head.predict((features,), labelled([0, 1, 2, 7]))
    with pytest.raises(ValueError, match='num_classes must be positive'):
        LinearProbeHead(num_classes=0, in_channels=4)


def test_frozen_encoder_stays_in_eval_mode_and_only_the_head_learns():
    """In an ImageClassifier with frozen_stages=depth, train() keeps the encoder in eval mode and a step leaves it."""
    classifier = tiny_classifier(
        dict(out_type='cls_token', frozen_stages=2, drop_path_rate=0.1),
        dict(type='cae_mm.LinearProbeHead', num_classes=3, in_channels=64),
    )
    classifier.train()
    assert not any(module.training for block in classifier.backbone.layers for module in block.modules())
    assert classifier.head.training
    images = torch.randn(4, 3, 32, 32)
    # Drop path 0.1 would make two training-mode passes differ; frozen blocks stay deterministic.
    torch.testing.assert_close(classifier.extract_feat(images), classifier.extract_feat(images), rtol=0, atol=0)
    assert not any(parameter.requires_grad for parameter in classifier.backbone.parameters())
    before = {name: value.clone() for name, value in classifier.backbone.state_dict().items()}
    loss = classifier.loss(images, labelled([0, 1, 2, 0]))['loss']
    loss.backward()
    assert classifier.head.fc.weight.grad is not None
    assert all(parameter.grad is None for parameter in classifier.backbone.parameters())
    for name, value in classifier.backbone.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_a_training_batch_of_one_sample_names_the_batch_size_not_batch_norm():
    """BatchNorm cannot train on one sample: the error names train_dataloader.batch_size/drop_last; evaluation of one
    sample (running statistics) still works."""
    head = LinearProbeHead(num_classes=3, in_channels=4).train()
    with pytest.raises(
        ValueError,
        match=r'LinearProbeHead trains a BatchNorm, .* this batch has 1: set '
        r'train_dataloader\.batch_size >= 2 and keep train_dataloader\.drop_last=True',
    ):
        head.loss((torch.randn(1, 4),), labelled([2]))
    assert torch.isfinite(head.loss((torch.randn(2, 4),), labelled([2, 0]))['loss'])
    head.eval()
    assert head.predict((torch.randn(1, 4),))[0].pred_label.shape == (1,)
