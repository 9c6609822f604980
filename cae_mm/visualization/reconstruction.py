"""Pixel reconstructions of a pixel-target CAE along the regressor path (training) and the full-encoder path."""

from typing import Literal

import numpy as np
import torch
from mmengine.model import BaseDataPreprocessor
from torch import nn

from cae_mm.models.layers import gather_tokens, mask_to_indices
from cae_mm.models.targets.pixel_target import NormalizedPixelTarget, patchify
from .display import denormalize, to_display
from .pictures import shade_patches, tile, upscale

ReconstructionPath = Literal['regressor', 'full_encoder']
RECONSTRUCTION_TITLES = ('input', 'masked', 'regressor', 'full encoder')


def require_pixel_target(model: nn.Module) -> None:
    """Check that the CAE ``model`` predicts pixels.

    Raises:
        ValueError: the model's target is not ``NormalizedPixelTarget`` with an MSE decoder.
    """
    target = getattr(model, 'target_generator', None)
    head = getattr(model, 'head', None)
    if not isinstance(target, NormalizedPixelTarget) or getattr(head, 'reconstruction_loss', None) != 'mse':
        raise ValueError(
            f'pixel reconstructions need a pixel-target CAE (cae_mm.NormalizedPixelTarget and an MSE '
            f"decoder); this model's target is {type(target).__name__}"
        )


def unpatchify(patches: torch.Tensor, patch_size: int, grid: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`~cae_mm.models.targets.pixel_target.patchify`: ``(B, h*w, p*p*3)`` -> ``(B, 3, h*p, w*p)``.

    Args:
        patches: ``(B, h*w, p*p*3)``, row-major, pixels ``(row, col, channel)`` within a patch.
        patch_size: ``p``.
        grid: ``(h, w)``.
    """
    rows, cols = grid
    batch = patches.shape[0]
    images = patches.reshape(batch, rows, cols, patch_size, patch_size, -1)  # (B, h, w, p, p, c)
    images = images.permute(0, 5, 1, 3, 2, 4)  # (B, c, h, p, w, p)
    return images.reshape(batch, -1, rows * patch_size, cols * patch_size)


def predict_masked_patches(
    model: nn.Module, images: torch.Tensor, mask: torch.Tensor, path: ReconstructionPath
) -> torch.Tensor:
    """The decoder's normalised pixel predictions ``(B, Nm, p*p*3)`` for the masked patches, in row-major order.

    Args:
        model: a pixel-target ``cae_mm.CAE`` in eval mode.
        images: model inputs ``(B, 3, H, W)``.
        mask: ``(B, h, w)`` bool, True = masked.
        path: ``'regressor'`` (visible patches -> encoder -> regressor) or ``'full_encoder'`` (every patch -> encoder).
    """
    if path == 'regressor':
        visible_latents = model.backbone.forward_encoder(images, mask)[:, 1:]  # (B, Nv, C_enc)
        latents = model.neck(visible_latents, mask)  # (B, Nm, C)
    elif path == 'full_encoder':
        all_latents = model.neck.project(model.backbone.forward_encoder(images)[:, 1:])  # (B, h*w, C)
        _, masked_index = mask_to_indices(mask.flatten(1))
        latents = gather_tokens(all_latents, masked_index)  # (B, Nm, C)
    else:
        raise ValueError(f"path must be 'regressor' or 'full_encoder', got {path!r}")
    return model.head(latents, mask).float()


def paste_masked_patches(
    images: torch.Tensor, predictions: torch.Tensor, mask: torch.Tensor, target: NormalizedPixelTarget
) -> torch.Tensor:
    """``images`` with the masked patches replaced by predictions un-normalised with the true patch's mean and std.

    Args:
        images: model inputs ``(B, 3, H, W)``.
        predictions: ``(B, Nm, p*p*3)`` from :func:`predict_masked_patches`.
        mask: ``(B, h, w)`` bool, True = masked.
        target: the model's pixel target.
    """
    patches = patchify(images.float(), target.patch_size)  # (B, h*w, p*p*3)
    _, masked_index = mask_to_indices(mask.flatten(1))
    if target.normalize_per_patch:
        mean, std = target.patch_statistics(gather_tokens(patches, masked_index))  # (B, Nm, 1) each
        predictions = predictions * std + mean  # (B, Nm, p*p*3)
    patches = patches.scatter(1, masked_index[:, :, None].expand(-1, -1, patches.shape[-1]), predictions)
    return unpatchify(patches, target.patch_size, tuple(mask.shape[-2:]))


@torch.no_grad()
def reconstruct(model: nn.Module, images: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reconstructions ``(B, 3, H, W)`` in model-input units, keyed ``regressor``, ``full_encoder`` and ``patch_mean``
    (masked patches flat at their true mean: the PSNR baseline).

    Args:
        model: a pixel-target ``cae_mm.CAE`` in eval mode.
        images: model inputs ``(B, 3, H, W)``.
        mask: ``(B, h, w)`` bool, True = masked.
    """
    require_pixel_target(model)
    mask, target = mask.to(images.device), model.target_generator
    outputs = {
        path: paste_masked_patches(images, predict_masked_patches(model, images, mask, path), mask, target)
        for path in ('regressor', 'full_encoder')
    }
    zeros = images.new_zeros(images.shape[0], int(mask[0].sum()), target.patch_size**2 * images.shape[1])
    outputs['patch_mean'] = paste_masked_patches(images, zeros, mask, target)  # zeros: (B, Nm, p*p*3)
    return outputs


def masked_patch_psnr(
    reconstructions: torch.Tensor, images: torch.Tensor, mask: torch.Tensor, preprocessor: BaseDataPreprocessor
) -> torch.Tensor:
    """PSNR ``(B,)`` in dB over the masked patches, in RGB pixel values ``[0, 255]`` (peak 255).

    Args:
        reconstructions: ``(B, 3, H, W)`` in model-input units.
        images: the inputs ``(B, 3, H, W)``.
        mask: ``(B, h, w)`` bool, True = masked.
        preprocessor: the model's data preprocessor, to return to pixel values.
    """
    patch_size = images.shape[-1] // mask.shape[-1]
    covered = mask.cpu().repeat_interleave(patch_size, 1).repeat_interleave(patch_size, 2)  # (B, H, W)
    squared_error = (denormalize(reconstructions, preprocessor) - denormalize(images, preprocessor)) ** 2  # (B,H,W,3)
    mean_squared_error = (squared_error * covered[..., None]).sum(dim=(1, 2, 3)) / (covered.sum(dim=(1, 2)) * 3)
    return 10 * torch.log10(255.0**2 / mean_squared_error.clamp_min(1e-10))


def reconstruction_picture(
    images: torch.Tensor,
    mask: torch.Tensor,
    reconstructions: dict[str, torch.Tensor],
    preprocessor: BaseDataPreprocessor,
    scale: int = 1,
) -> np.ndarray:
    """Rows of input | masked input | regressor path | full-encoder path, one per image: ``(H', W', 3)`` uint8.

    Args:
        images: model inputs ``(B, 3, H, W)``.
        mask: ``(B, h, w)`` bool, True = masked.
        reconstructions: :func:`reconstruct`'s output.
        preprocessor: the model's data preprocessor.
        scale: integer enlargement of every panel.
    """
    patch_size = images.shape[-1] // mask.shape[-1]
    originals = to_display(images, preprocessor)
    regressor = to_display(reconstructions['regressor'], preprocessor)
    full_encoder = to_display(reconstructions['full_encoder'], preprocessor)
    rows = []
    for index, original in enumerate(originals):
        masked = shade_patches(original, mask[index].cpu(), patch_size, opacity=1.0)
        panels = (original, masked, regressor[index], full_encoder[index])
        rows.append([upscale(panel, scale) for panel in panels])
    return tile(rows, RECONSTRUCTION_TITLES)
