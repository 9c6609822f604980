"""Where the encoder's cls token looks: the last block's attention weights from cls to every patch."""

from typing import Any

import torch

from cae_mm.models.backbones.vision_transformer import CAEVisionTransformer


@torch.no_grad()
def last_layer_cls_attention(encoder: CAEVisionTransformer, images: torch.Tensor) -> torch.Tensor:
    """The last block's attention from the cls token to each patch, per head, on unmasked images.

    The fused attention kernel does not return its weights, so the last block's attention input is captured during a
    normal forward pass and its weights are recomputed with ``SelfAttention.attention_weights``.

    Args:
        encoder: a ``CAEVisionTransformer`` (eval mode).
        images: model inputs ``(B, 3, H, W)``.

    Returns:
        ``(B, heads, h, w)``; for each head the weights over the patches (the cls token's weight on itself is left
        out, so a map sums to at most 1).
    """
    if not isinstance(encoder, CAEVisionTransformer):
        raise TypeError(f'attention maps need a cae_mm.CAEVisionTransformer, got {type(encoder).__name__}')
    attention = encoder.layers[-1].attn
    captured: dict[str, Any] = {}

    def capture_input(module: torch.nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
        captured['tokens'] = args[0]  # (B, 1 + h*w, C), after norm1
        captured['bias'] = kwargs.get('attention_bias', args[2] if len(args) > 2 else None)

    handle = attention.register_forward_hook(capture_input, with_kwargs=True)
    try:
        encoder.forward_encoder(images)
    finally:
        handle.remove()
    weights = attention.attention_weights(captured['tokens'], captured['bias'])  # (B, heads, 1 + h*w, 1 + h*w)
    rows, cols = encoder.grid_size(images)
    return weights[:, :, 0, 1:].reshape(images.shape[0], -1, rows, cols)  # (B, heads, h, w)
