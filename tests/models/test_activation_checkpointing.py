"""Activation checkpointing in the encoder, regressor and decoder: the same losses and gradients, fewer saved bytes."""

import pytest
import torch
from mmpretrain.structures import DataSample

from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config
from tests.tools.tool_loading import load_tool

LiveTensorBytes = load_tool('benchmark.py').LiveTensorBytes


def build(checkpointing: bool, drop_path_rate: float) -> torch.nn.Module:
    config = tiny_cae_config(drop_path_rate=drop_path_rate)
    for part in ('backbone', 'neck', 'head'):
        config[part]['with_checkpoint'] = checkpointing
    torch.manual_seed(0)
    return MODELS.build(config).train()


def batch() -> tuple[torch.Tensor, list[DataSample]]:
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(2, 3, 64, 64, generator=generator)
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[0, torch.randperm(64, generator=generator)[:32]] = True
    mask[1, torch.randperm(64, generator=generator)[:32]] = True
    return images, [DataSample().set_mask(sample_mask.view(8, 8)) for sample_mask in mask]


def losses_gradients_and_kept_bytes(model: torch.nn.Module) -> tuple[dict, dict, int]:
    """Losses, gradients, and the bytes of the tensors the forward pass allocated that are still alive after it
    (what is kept for the backward pass, and the losses)."""
    images, samples = batch()
    torch.manual_seed(5)  # drop path draws
    existing = list(model.parameters()) + list(model.buffers()) + [images] + [sample.mask for sample in samples]
    tracker = LiveTensorBytes(existing)
    with tracker:
        losses = model.loss(images, samples)
    kept_bytes = tracker.live_bytes
    sum(losses.values()).backward()
    gradients = {
        name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None
    }
    return {name: loss.detach() for name, loss in losses.items()}, gradients, kept_bytes


@pytest.mark.parametrize('drop_path_rate', [0.0, 0.3])
def test_checkpointing_changes_memory_not_results(drop_path_rate):
    """Same losses and gradients (drop path draws the same masks when recomputed); far fewer bytes kept."""
    plain_losses, plain_gradients, plain_kept = losses_gradients_and_kept_bytes(build(False, drop_path_rate))
    losses, gradients, kept = losses_gradients_and_kept_bytes(build(True, drop_path_rate))
    assert plain_losses.keys() == losses.keys()
    for name in losses:
        torch.testing.assert_close(losses[name], plain_losses[name], rtol=0, atol=0)
    assert gradients.keys() == plain_gradients.keys()
    for name in gradients:
        torch.testing.assert_close(gradients[name], plain_gradients[name], rtol=1e-6, atol=1e-7, msg=name)
    assert kept < plain_kept / 2


def test_evaluation_under_no_grad_is_unchanged():
    """In eval mode under no_grad checkpointing is off: the same results as a model built without it."""
    model = build(True, 0.0).eval()
    images, samples = batch()
    with torch.no_grad():
        evaluated = model.loss(images, samples)
    reference = build(False, 0.0).eval()
    with torch.no_grad():
        expected = reference.loss(images, samples)
    for name in expected:
        assert torch.equal(evaluated[name], expected[name])
