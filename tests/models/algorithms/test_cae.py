import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from cae_mm.datasets import BlockwiseMaskGenerator
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config


def build(neck_dims: int = 64, drop_path_rate: float = 0.0):
    return MODELS.build(tiny_cae_config(neck_dims=neck_dims, drop_path_rate=drop_path_rate))


def samples_with_masks(batch: int, grid: int = 8, count: int = 32) -> list[DataSample]:
    generator = BlockwiseMaskGenerator(count, patch_size=8, min_patches_per_block=4)
    return [DataSample().set_mask(torch.from_numpy(generator.generate((grid, grid)))) for _ in range(batch)]


class Capture:
    """Wraps a module method and keeps its last arguments and result."""

    def __init__(self, module, name):
        self.original = getattr(module, name)
        setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.result = self.original(*args, **kwargs)
        return self.result


def test_losses_are_finite_and_named():
    """A step gives the reconstruction and λ-weighted alignment losses, finite."""
    model = build(drop_path_rate=0.1)
    losses = model(torch.randn(2, 3, 64, 64), samples_with_masks(2), mode='loss')
    assert set(losses) == {'loss_reconstruction', 'loss_alignment'}
    assert all(torch.isfinite(loss) for loss in losses.values())


def test_total_loss_equals_a_hand_computation():
    """Recompute targets with numpy loops and both MSEs by hand from the model's own intermediate tensors."""
    model = build(neck_dims=32)
    images = torch.randn(2, 3, 64, 64)
    samples = samples_with_masks(2)
    head_loss = Capture(model.head, 'loss')
    losses = model.loss(images, samples)
    latent_pred, latent_target, _, patch_mask = head_loss.args
    mask = patch_mask.mask  # (B, h, w), checked once by CAE.loss
    prediction = model.head(latent_pred, mask).detach().numpy()

    pixels = images.numpy()
    expected_reconstruction, count = 0.0, 0
    for b in range(2):
        masked_positions = [k for k in range(64) if mask[b].flatten()[k]]
        for slot, k in enumerate(masked_positions):
            row, col = divmod(k, 8)
            patch = pixels[b, :, row * 8 : (row + 1) * 8, col * 8 : (col + 1) * 8].transpose(1, 2, 0).reshape(-1)
            target = (patch - patch.mean()) / np.sqrt(patch.var(ddof=1) + 1e-6)
            expected_reconstruction += ((prediction[b, slot] - target) ** 2).sum()
            count += patch.size
    expected_reconstruction /= count
    encoder_on_masked = model.backbone.forward_encoder(images, ~mask)[:, 1:]
    expected_target = model.neck.project(encoder_on_masked).detach().numpy()
    expected_alignment = 2.0 * ((latent_pred.detach().numpy() - expected_target) ** 2).mean()
    total = sum(losses.values()).item()
    assert total == pytest.approx(expected_reconstruction + expected_alignment, rel=1e-5)


def test_target_branch_has_no_gradient_and_uses_current_weights():
    """Alignment targets come from the current encoder weights (not a stale copy) and carry no gradient."""
    model = build()
    images = torch.randn(2, 3, 64, 64)
    samples = samples_with_masks(2)
    head_loss = Capture(model.head, 'loss')
    model.loss(images, samples)
    first_target = head_loss.args[1]
    assert not first_target.requires_grad
    with torch.no_grad():
        for parameter in model.backbone.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    model.loss(images, samples)
    second_target, mask = head_loss.args[1], head_loss.args[3].mask
    expected = model.neck.project(model.backbone.forward_encoder(images, ~mask)[:, 1:])
    torch.testing.assert_close(second_target, expected)
    assert not torch.allclose(second_target, first_target)


def test_moving_average_target_encoder_is_off_by_default_and_follows_the_encoder():
    """target_momentum 0 adds no module; m > 0 starts from the encoder, then moves by (1 - m) towards it each step."""
    assert build().target_encoder is None
    assert not any(key.startswith('target_encoder.') for key in build().state_dict())
    model = MODELS.build({**tiny_cae_config(), 'target_momentum': 0.9})
    model.init_weights()
    for average, current in zip(model.target_encoder.parameters(), model.backbone.parameters()):
        assert torch.equal(average, current) and not average.requires_grad
    before = [parameter.clone() for parameter in model.target_encoder.parameters()]
    with torch.no_grad():
        for parameter in model.backbone.parameters():
            parameter.add_(torch.randn_like(parameter))
    images, samples = torch.randn(2, 3, 64, 64), samples_with_masks(2)
    head_loss = Capture(model.head, 'loss')
    model.loss(images, samples)['loss_alignment'].backward()
    for old, average, current in zip(before, model.target_encoder.parameters(), model.backbone.parameters()):
        torch.testing.assert_close(average, 0.9 * old + 0.1 * current)
        assert average.grad is None
    mask = head_loss.args[3].mask
    expected = model.neck.project(model.target_encoder.forward_encoder(images, ~mask)[:, 1:])
    torch.testing.assert_close(head_loss.args[1], expected)


@pytest.mark.parametrize('momentum', [-0.1, 1.0])
def test_target_momentum_outside_zero_to_one_is_refused(momentum):
    with pytest.raises(ValueError, match='target_momentum'):
        MODELS.build({**tiny_cae_config(), 'target_momentum': momentum})


def test_alignment_gradient_flows_only_through_the_prediction():
    """The alignment loss's gradient equals that of λ·MSE(prediction, constant target)."""
    model = build()
    images = torch.randn(2, 3, 64, 64)
    samples = samples_with_masks(2)
    head_loss = Capture(model.head, 'loss')
    model.loss(images, samples)['loss_alignment'].backward()
    from_model = {name: p.grad.clone() for name, p in model.backbone.named_parameters()}
    model.zero_grad()
    _, latent_target, _, patch_mask = head_loss.args
    mask = patch_mask.mask
    visible = model.backbone.forward_encoder(images, mask)[:, 1:]
    manual = 2.0 * ((model.neck(visible, mask) - latent_target.clone()) ** 2).mean()
    manual.backward()
    for name, parameter in model.backbone.named_parameters():
        torch.testing.assert_close(parameter.grad, from_model[name], msg=name)


def test_decoder_receives_only_the_predicted_masked_latents():
    """The decoder's input is the regressor's (B, Nm, C) output; holding it fixed, the encoder gets no gradient."""
    model = build()
    images = torch.randn(2, 3, 64, 64)
    samples = samples_with_masks(2)
    neck_forward = Capture(model.neck, 'forward')
    head_forward = Capture(model.head, 'forward')
    model.loss(images, samples)
    assert head_forward.args[0] is neck_forward.result
    assert head_forward.args[0].shape == (2, 32, 64)

    fixed_prediction = neck_forward.result.detach().requires_grad_()
    model.neck.forward = lambda visible, mask: fixed_prediction
    model.loss(images, samples)['loss_reconstruction'].backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert fixed_prediction.grad is not None and fixed_prediction.grad.abs().sum() > 0


def test_masked_pixels_do_not_change_the_prediction():
    """End to end, pixels of masked patches cannot influence the regressor's prediction."""
    model = build().eval()
    images = torch.randn(2, 3, 64, 64)
    samples = samples_with_masks(2)
    neck_forward = Capture(model.neck, 'forward')
    model.loss(images, samples)
    reference, mask = neck_forward.result, neck_forward.args[1].mask
    pixel_mask = mask.repeat_interleave(8, 1).repeat_interleave(8, 2)[:, None].expand_as(images)
    model.loss(torch.where(pixel_mask, torch.randn_like(images), images), samples)
    assert torch.equal(neck_forward.result, reference)


def test_two_views_feed_the_target_generator_the_second_view():
    """With [model view, target view], targets are computed from the second view."""
    model = build()
    target_call = Capture(model.target_generator, 'forward')
    model_view, target_view = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)
    model.loss([model_view, target_view], samples_with_masks(2))
    assert target_call.args[0] is target_view


def test_mask_problems_are_clear_errors():
    """Missing masks, a mask for another grid, and unequal counts in a batch each say what is wrong."""
    model = build()
    images = torch.randn(2, 3, 64, 64)
    with pytest.raises(ValueError, match='BlockwiseMaskGenerator'):
        model.loss(images, [DataSample(), DataSample()])
    with pytest.raises(ValueError, match='do not match the 8x8 patch grid'):
        model.loss(images, samples_with_masks(2, grid=4, count=8))
    unequal = samples_with_masks(1) + [
        DataSample().set_mask(
            torch.from_numpy(BlockwiseMaskGenerator(20, patch_size=8, min_patches_per_block=4).generate((8, 8)))
        )
    ]
    with pytest.raises(ValueError, match='same number of patches'):
        model.loss(images, unequal)


def test_tensor_mode_returns_backbone_features():
    """forward(mode='tensor') is the unmasked backbone output."""
    model = build().eval()
    images = torch.randn(2, 3, 64, 64)
    (features,) = model(images, mode='tensor')
    torch.testing.assert_close(features, model.backbone.forward_encoder(images))


def test_a_training_step_checks_its_mask_and_grid_once():
    """The mask is split and checked where it enters the model; encoder, regressor, decoder and target reuse it."""
    from unittest import mock

    from cae_mm.models.backbones import vision_transformer
    from cae_mm.models.layers import token_gather

    model = build()
    images = torch.randn(2, 3, 64, 64)
    with (
        mock.patch.object(token_gather, 'mask_to_indices', wraps=token_gather.mask_to_indices) as split,
        mock.patch.object(vision_transformer, 'mask_to_indices', wraps=token_gather.mask_to_indices) as encoder,
        mock.patch.object(
            type(model.backbone),
            'grid_size',
            autospec=True,
            side_effect=vision_transformer.CAEVisionTransformer.grid_size,
        ) as grid,
    ):
        model.loss(images, samples_with_masks(2))
    assert split.call_count == 1 and encoder.call_count == 0 and grid.call_count == 1
