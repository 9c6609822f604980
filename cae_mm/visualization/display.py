"""Model inputs back to pictures: undo the data preprocessor's normalisation and channel order."""

import numpy as np
import torch
from mmengine.model import BaseDataPreprocessor


def denormalize(inputs: torch.Tensor, preprocessor: BaseDataPreprocessor) -> torch.Tensor:
    """Float RGB ``(B, H, W, 3)`` clipped to ``[0, 255]`` of ``inputs`` ``(B, 3, H, W)`` (model inputs or their
    reconstructions), undoing the normalisation and channel order of the data ``preprocessor``."""
    pixels = inputs.detach().float().cpu()
    if getattr(preprocessor, '_enable_normalize', False):
        pixels = pixels * preprocessor.std.cpu() + preprocessor.mean.cpu()  # mean/std: (3, 1, 1)
    # mmengine's preprocessors record a BGR->RGB swap in _channel_conversion; without it the model sees BGR.
    if not getattr(preprocessor, '_channel_conversion', False):
        pixels = pixels.flip(1)
    return pixels.permute(0, 2, 3, 1).clamp(0, 255)  # (B, H, W, 3)


def to_display(inputs: torch.Tensor, preprocessor: BaseDataPreprocessor) -> np.ndarray:
    """:func:`denormalize` rounded to ``(B, H, W, 3)`` uint8 RGB."""
    return denormalize(inputs, preprocessor).round().to(torch.uint8).numpy()
