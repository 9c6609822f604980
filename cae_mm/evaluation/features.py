"""Frozen encoder tokens of a batch, for any cae_mm or mmpretrain ViT backbone (diagnostics and k-NN)."""

import torch


def encoder_tokens(backbone: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Final-normed tokens ``(B, 1 + N, C)`` (cls, then every patch row-major) of normalised ``images`` ``(B, 3, H, W)``
    from ``backbone``: a ``cae_mm.CAEVisionTransformer`` or an mmpretrain ViT whose last output is ``'raw'`` tokens.

    Raises:
        ValueError: the backbone's last output is not ``(B, 1 + N, C)``.
    """
    if hasattr(backbone, 'forward_encoder'):
        return backbone.forward_encoder(images)
    tokens = backbone(images, None)[-1]  # MAEViT: mask=None runs every patch
    if tokens.dim() != 3:
        raise ValueError(
            f"expected the backbone's 'raw' tokens (B, 1 + N, C), got shape {tuple(tokens.shape)}: set "
            'the backbone out_type to raw'
        )
    return tokens
