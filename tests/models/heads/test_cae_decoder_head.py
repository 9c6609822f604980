import pytest
import torch
import torch.nn.functional as F

from cae_mm.models.heads import CAEDecoderHead


def random_mask(batch: int, rows: int, cols: int, count: int) -> torch.Tensor:
    mask = torch.zeros(batch, rows * cols, dtype=torch.bool)
    for row in range(batch):
        mask[row, torch.randperm(rows * cols)[:count]] = True
    return mask.reshape(batch, rows, cols)


def test_cross_entropy_and_alignment_losses():
    """Token-id targets: mean cross-entropy over all masked tokens, plus λ·MSE of the latents, both in fp32."""
    head = CAEDecoderHead(embed_dims=32, out_dims=50, depth=1, num_heads=4, alignment_weight=2.0).eval()
    mask = random_mask(2, 4, 4, 6)
    latent_pred, latent_target = torch.randn(2, 6, 32), torch.randn(2, 6, 32)
    ids = torch.randint(0, 50, (2, 6))
    losses = head.loss(latent_pred, latent_target, ids, mask)
    logits = head(latent_pred, mask)
    log_probabilities = logits.log_softmax(-1)
    expected_ce = -log_probabilities.gather(-1, ids[..., None]).mean()
    torch.testing.assert_close(losses['loss_reconstruction'], expected_ce)
    torch.testing.assert_close(losses['loss_alignment'], 2.0 * ((latent_pred - latent_target) ** 2).mean())
    assert losses['loss_reconstruction'].dtype == torch.float32


def test_pixel_mse_loss():
    """Pixel targets use the mean squared error over all masked pixels."""
    head = CAEDecoderHead(embed_dims=32, out_dims=12, depth=1, num_heads=4, reconstruction_loss='mse').eval()
    mask = random_mask(2, 4, 4, 6)
    latent_pred = torch.randn(2, 6, 32)
    target = torch.randn(2, 6, 12)
    losses = head.loss(latent_pred, latent_pred.clone(), target, mask)
    torch.testing.assert_close(losses['loss_reconstruction'], F.mse_loss(head(latent_pred, mask), target))
    assert losses['loss_alignment'] == 0


def test_target_shapes_are_checked():
    """Wrong target shapes name what was expected."""
    head = CAEDecoderHead(embed_dims=32, out_dims=12, depth=1, num_heads=4, reconstruction_loss='mse')
    mask = random_mask(2, 4, 4, 6)
    with pytest.raises(ValueError, match='patch_size'):
        head.loss(torch.randn(2, 6, 32), torch.randn(2, 6, 32), torch.randn(2, 6, 48), mask)
    with pytest.raises(ValueError, match='alignment target'):
        head.loss(torch.randn(2, 6, 32), torch.randn(2, 5, 32), torch.randn(2, 6, 12), mask)


def test_autocast_prediction_still_gives_fp32_losses():
    """Under bf16 autocast the losses are still computed in fp32."""
    head = CAEDecoderHead(embed_dims=32, out_dims=12, depth=1, num_heads=4, reconstruction_loss='mse')
    mask = random_mask(2, 4, 4, 6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = head.loss(torch.randn(2, 6, 32), torch.randn(2, 6, 32), torch.randn(2, 6, 12), mask)
    assert all(loss.dtype == torch.float32 for loss in losses.values())
