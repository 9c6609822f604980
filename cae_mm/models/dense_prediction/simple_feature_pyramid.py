"""ViTDet's simple feature pyramid: every scale made from the last block's map alone (no top-down path)."""

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cae_mm.registry import MODELS


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _projection(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
        LayerNorm2d(out_channels),
        nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
        LayerNorm2d(out_channels),
    )


@MODELS.register_module()
class SimpleFeaturePyramid(nn.Module):
    """From one map ``(B, C, h, w)`` (the encoder's only out index; more maps are a ``ValueError``), ``num_outs`` maps
    ``(B, out_channels, 4h, 4w)``, ``(.., 2h, 2w)``, ``(.., h, w)``, ``(.., h // 2, w // 2)``
    [, ``(.., ceil(h / 4), ceil(w / 4))``].

    Args:
        in_channels: channels ``C`` of the encoder's map; divisible by 4.
        out_channels: channels of every output level.
        num_outs: 4, or 5 to add the extra coarsest level.
    """

    num_inputs = 1

    def __init__(self, in_channels: int, out_channels: int = 256, num_outs: int = 5) -> None:
        super().__init__()
        if in_channels % 4:
            raise ValueError(f'SimpleFeaturePyramid needs in_channels divisible by 4, got {in_channels}')
        if num_outs not in (4, 5):
            raise ValueError(f'num_outs must be 4 or 5, got {num_outs}')
        self.in_channels = in_channels
        self.num_outs = num_outs
        self.out_channels = (out_channels,) * num_outs
        half, quarter = in_channels // 2, in_channels // 4
        self.scales = nn.ModuleList(
            [
                nn.Sequential(
                    nn.ConvTranspose2d(in_channels, half, kernel_size=2, stride=2),
                    LayerNorm2d(half),
                    nn.GELU(),
                    nn.ConvTranspose2d(half, quarter, kernel_size=2, stride=2),
                ),
                nn.ConvTranspose2d(in_channels, half, kernel_size=2, stride=2),
                nn.Identity(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            ]
        )
        self.projections = nn.ModuleList(
            _projection(channels, out_channels) for channels in (quarter, half, in_channels, in_channels)
        )

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(features) != self.num_inputs:
            raise ValueError(
                f'SimpleFeaturePyramid builds every level from the last block alone: give the encoder '
                f'one out index, got {len(features)} feature maps'
            )
        (feature,) = features
        outputs = [projection(scale(feature)) for scale, projection in zip(self.scales, self.projections)]
        if self.num_outs == 5:
            outputs.append(F.max_pool2d(outputs[-1], kernel_size=1, stride=2))
        return tuple(outputs)
