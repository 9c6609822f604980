"""The two reconstruction paths, the un-normalisation of pixel predictions, and the masked-patch PSNR."""

import math

import pytest
import torch
from mmpretrain.models.utils import SelfSupDataPreprocessor

from cae_mm.models.targets.pixel_target import patchify
from cae_mm.registry import MODELS
from cae_mm.visualization.reconstruction import (
    masked_patch_psnr,
    paste_masked_patches,
    predict_masked_patches,
    reconstruct,
    reconstruction_picture,
    require_pixel_target,
    unpatchify,
)
from cae_mm.visualization.pictures import grid_shape
from tests.conftest import tiny_cae_config


@pytest.fixture
def model_and_inputs():
    model = MODELS.build(tiny_cae_config()).eval()
    images = torch.randn(2, 3, 64, 64)
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[0, :4] = True
    mask[1, :, 4:] = True
    return model, images, mask


def test_unpatchify_inverts_patchify():
    images = torch.randn(2, 3, 16, 24)
    torch.testing.assert_close(unpatchify(patchify(images, 8), 8, (2, 3)), images, rtol=0, atol=0)


def test_pasting_the_true_targets_gives_back_the_input(model_and_inputs):
    """Un-normalising the pixel target's own normalised patches with the true statistics restores the image."""
    model, images, mask = model_and_inputs
    targets = model.target_generator(images, mask)  # (B, Nm, p*p*3), per-patch normalised
    torch.testing.assert_close(
        paste_masked_patches(images, targets, mask, model.target_generator), images, rtol=1e-4, atol=1e-4
    )


def test_full_encoder_path_skips_the_regressor_and_sees_the_masked_pixels(model_and_inputs):
    """The Figure 4 path reads the masked patches through the encoder, never through the regressor; the training
    path is the other way round."""
    model, images, mask = model_and_inputs
    with torch.no_grad():
        regressor = predict_masked_patches(model, images, mask, 'regressor')
        full_encoder = predict_masked_patches(model, images, mask, 'full_encoder')
        changed = images.clone()
        changed[0, :, :8, :8] += 1.0  # a masked patch of image 0
        assert torch.equal(predict_masked_patches(model, changed, mask, 'regressor'), regressor)
        assert not torch.allclose(predict_masked_patches(model, changed, mask, 'full_encoder')[0], full_encoder[0])
        model.neck.blocks[0].cross_attn.proj.bias.add_(1.0)
        assert torch.equal(predict_masked_patches(model, images, mask, 'full_encoder'), full_encoder)
        assert not torch.allclose(predict_masked_patches(model, images, mask, 'regressor'), regressor)
    assert regressor.shape == full_encoder.shape == (2, 32, 8 * 8 * 3)


def test_reconstructions_keep_the_visible_patches(model_and_inputs):
    """Both paths and the flat-patch baseline copy the visible patches; the baseline's masked patches are flat."""
    model, images, mask = model_and_inputs
    outputs = reconstruct(model, images, mask)
    assert set(outputs) == {'regressor', 'full_encoder', 'patch_mean'}
    visible = ~mask.repeat_interleave(8, 1).repeat_interleave(8, 2)[:, None].expand_as(images)  # (B, 3, H, W)
    for reconstruction in outputs.values():
        assert reconstruction.shape == images.shape
        assert torch.equal(reconstruction[visible], images[visible])
    flat_patch = outputs['patch_mean'][0, :, :8, :8]
    torch.testing.assert_close(flat_patch, torch.full_like(flat_patch, images[0, :, :8, :8].mean().item()))


def test_psnr_over_the_masked_patches():
    """An error of d grey levels on the masked patches only gives 10 log10(255^2 / d^2); visible errors are ignored."""
    preprocessor = SelfSupDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True)
    images = torch.full((1, 3, 16, 16), 100.0)
    mask = torch.tensor([[[True, False], [False, False]]])
    reconstruction = images.clone()
    reconstruction[..., :8, :8] += 5.0
    reconstruction[..., 8:, 8:] += 50.0  # visible: not counted
    psnr = masked_patch_psnr(reconstruction, images, mask, preprocessor)
    assert psnr.shape == (1,)
    assert psnr.item() == pytest.approx(10 * math.log10(255**2 / 25))


def test_picture_has_four_columns(model_and_inputs):
    model, images, mask = model_and_inputs
    preprocessor = SelfSupDataPreprocessor(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
    picture = reconstruction_picture(images, mask, reconstruct(model, images, mask), preprocessor, scale=2)
    assert picture.shape == (*grid_shape(2, 4, 128, 128), 3)


def test_a_model_without_pixel_targets_is_refused():
    model = MODELS.build(tiny_cae_config())
    model.head.reconstruction_loss = 'cross_entropy'
    with pytest.raises(ValueError, match='pixel-target CAE'):
        require_pixel_target(model)
