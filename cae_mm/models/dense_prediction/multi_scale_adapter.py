"""The multi-scale adapter of CAE's detection and segmentation code: four stride-p ViT taps to strides p/4..2p."""

from typing import Optional, Sequence

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from cae_mm.registry import MODELS


@MODELS.register_module()
class MultiScaleAdapter(nn.Module):
    """Resizes four taps ``(B, C, h, w)``, from increasingly deep blocks, to ``(B, C, 4h, 4w)``, ``(B, C, 2h, 2w)``,
    ``(B, C, h, w)`` and ``(B, C, h // 2, w // 2)``; another number of taps is a ``ValueError``.

    Args:
        in_channels: channels ``C`` of the taps (the encoder width).
        norm_cfg: mmcv norm config between the two x4 deconvolutions; None: BN.
    """

    num_inputs = 4

    def __init__(self, in_channels: int, norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = (in_channels,) * 4
        self.upsample_4x = nn.Sequential(
            nn.ConvTranspose2d(in_channels, in_channels, kernel_size=2, stride=2),
            build_norm_layer(norm_cfg or dict(type='BN'), in_channels)[1],
            nn.GELU(),
            nn.ConvTranspose2d(in_channels, in_channels, kernel_size=2, stride=2),
        )
        self.upsample_2x = nn.ConvTranspose2d(in_channels, in_channels, kernel_size=2, stride=2)
        self.keep = nn.Identity()
        self.downsample_2x = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(features) != self.num_inputs:
            raise ValueError(
                f'MultiScaleAdapter takes 4 feature maps (one per out index, e.g. blocks 3, 5, 7, 11 '
                f'of ViT-B), got {len(features)}'
            )
        operations = (self.upsample_4x, self.upsample_2x, self.keep, self.downsample_2x)
        return tuple(operation(feature) for operation, feature in zip(operations, features))
