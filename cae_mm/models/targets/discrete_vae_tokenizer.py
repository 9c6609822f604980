"""The official CAE code's own discrete VAE (``--discrete_vae_type customized``) as the reconstruction target."""

from typing import Optional, Union

import torch
from torch import nn

from cae_mm.registry import MODELS
from .frozen_tokenizer import FrozenConv2d, FrozenTokenizer, Precision
from .tokenizer_loading import read_tokenizer_file

DISCRETE_VAE_HOW_TO_OBTAIN = (
    'The official CAE code (https://github.com/Atten4Vis/CAE) reads this tokenizer from '
    '<weight_path>/pytorch_model.bin, a torch.save of {"weights": <DiscreteVAE state dict>} (8192 tokens, 3 layers, '
    "hidden width 256, codebook width 512); obtain that file from the CAE authors' release or your own d-VAE "
    "training, and put it where the config's target_generator checkpoint points (e.g. data/tokenizers/dvae_8192.pth). "
    'cae_mm never downloads.'
)


def read_discrete_vae_file(path: str) -> dict[str, torch.Tensor]:
    """``{'encoder.0.0.weight': tensor, ..., 'decoder....', 'codebook.weight'}`` from the d-VAE file ``path``:
    ``{'weights': state_dict}`` as the official code saves it, or a plain state dict."""
    return read_tokenizer_file(
        path, 'discrete VAE', DISCRETE_VAE_HOW_TO_OBTAIN, container_keys=('weights', 'state_dict')
    )


class DiscreteVAEResidualBlock(nn.Module):
    """``x + net(x)``, ``net`` = 3x3 conv, ReLU, 3x3 conv, ReLU, 1x1 conv, all ``channels`` wide: ``(B, C, H, W)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            FrozenConv2d(channels, channels, 3),
            nn.ReLU(),
            FrozenConv2d(channels, channels, 3),
            nn.ReLU(),
            FrozenConv2d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + x


@MODELS.register_module()
class DiscreteVAETokenizer(FrozenTokenizer):
    """Encoder of the official CAE code's discrete VAE (BEiT's ``DiscreteVAE``): one token per ``2**num_layers`` pixels.

    The file's decoder and codebook are ignored. Input: the tokenizer view normalised to [-1, 1], i.e.
    ``TwoNormDataPreprocessor`` with ``second_mean=[127.5] * 3, second_std=[127.5] * 3``.

    Args:
        checkpoint: weights file, an already-read state dict, or None for random weights (tests only).
        num_layers: stride-2 layers.
        hidden_dims: width of every layer.
        vocab_size: number of token ids.
        precision: see :class:`FrozenTokenizer`.
        init_cfg: unused (weights come from ``checkpoint``).
    """

    input_range = (-1.0, 1.0)
    preprocessing_hint = (
        'the d-VAE expects images normalised with mean 0.5, std 0.5: use '
        'TwoNormDataPreprocessor with second_mean=[127.5] * 3, second_std=[127.5] * 3'
    )

    def __init__(
        self,
        checkpoint: Optional[Union[str, dict]],
        num_layers: int = 3,
        hidden_dims: int = 256,
        vocab_size: int = 8192,
        precision: Precision = 'auto',
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(vocab_size, 2**num_layers, precision, init_cfg)
        layers: list[nn.Module] = []
        in_channels = 3
        for _ in range(num_layers):
            layers.append(nn.Sequential(FrozenConv2d(in_channels, hidden_dims, 4, stride=2, padding=1), nn.ReLU()))
            layers.append(DiscreteVAEResidualBlock(hidden_dims))
            in_channels = hidden_dims
        layers.append(FrozenConv2d(hidden_dims, vocab_size, 1))
        self.encoder = nn.Sequential(*layers)
        self.load_checkpoint(
            checkpoint,
            read_discrete_vae_file,
            output_weight_key=f'encoder.{2 * num_layers}.weight',
            ignored_prefixes=('decoder.', 'codebook.'),
        )

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Token logits ``(B, vocab_size, H / 2**num_layers, W / 2**num_layers)`` of ``images`` ``(B, 3, H, W)`` float32
        in [-1, 1]."""
        return self.encoder(images)
