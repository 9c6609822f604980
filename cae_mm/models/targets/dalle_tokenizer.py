"""OpenAI's DALL-E discrete VAE encoder as CAE's reconstruction target (the paper's main setting)."""

from collections import OrderedDict
from typing import Optional, Union

import torch
from torch import nn

from cae_mm.registry import MODELS
from .frozen_tokenizer import FrozenConv2d, FrozenTokenizer, Precision
from .tokenizer_loading import read_tokenizer_file

DALLE_HOW_TO_OBTAIN = (
    "Get the DALL-E encoder weights in either public format and put the file where the config's target_generator "
    "checkpoint points (e.g. data/tokenizers/dalle_encoder.pth): mmpretrain's state dict "
    "https://download.openmmlab.com/mmselfsup/1.x/target_generator_ckpt/dalle_encoder.pth or OpenAI's pickled module "
    'https://cdn.openai.com/dall-e/encoder.pkl (read without importing the dall_e package). cae_mm never downloads: '
    'e.g. mkdir -p data/tokenizers && wget -O data/tokenizers/dalle_encoder.pth <url>.'
)

DALLE_PICKLED_CLASSES = (
    'dall_e.encoder.Encoder',
    'dall_e.encoder.EncoderBlock',
    'dall_e.utils.Conv2d',
    'torch.nn.modules.container.Sequential',
    'torch.nn.modules.activation.ReLU',
    'torch.nn.modules.pooling.MaxPool2d',
    'torch.nn.modules.linear.Identity',
)


def read_dalle_file(path: str) -> dict[str, torch.Tensor]:
    """``{'blocks.input.w': tensor, ...}`` (the same names for both formats) from ``path``: ``dalle_encoder.pth``
    (mmpretrain's state dict) or ``encoder.pkl`` (OpenAI's pickled module); ``TokenizerWeightsError`` if unusable."""
    return read_tokenizer_file(
        path,
        'DALL-E encoder',
        DALLE_HOW_TO_OBTAIN,
        pickled_module_classes=DALLE_PICKLED_CLASSES,
        pickled_root_class='dall_e.encoder.Encoder',
    )


def _dalle_conv(in_channels: int, out_channels: int, kernel_size: int) -> FrozenConv2d:
    return FrozenConv2d(in_channels, out_channels, kernel_size, weight_name='w', bias_name='b')


class DALLEResidualBlock(nn.Module):
    """DALL-E encoder block ``id_path(x) + res_path(x) / num_blocks**2``: ``(B, C_in, H, W) -> (B, C_out, H, W)``; in
    place, but OpenAI's operations in OpenAI's order, so the logits are bit for bit OpenAI's.

    Args:
        in_channels: input channels.
        out_channels: output channels (divisible by 4).
        num_blocks: blocks in the whole encoder, which sets the residual gain.
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int) -> None:
        super().__init__()
        hidden = out_channels // 4
        self.residual_gain = 1 / num_blocks**2
        self.id_path = _dalle_conv(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        convolutions = ((in_channels, hidden, 3), (hidden, hidden, 3), (hidden, hidden, 3), (hidden, out_channels, 1))
        res_path = OrderedDict()
        for index, (conv_in, conv_out, kernel_size) in enumerate(convolutions, start=1):
            res_path[f'relu_{index}'] = nn.ReLU(inplace=index > 1)  # not on the block's input, which id_path reads
            res_path[f'conv_{index}'] = _dalle_conv(conv_in, conv_out, kernel_size)
        self.res_path = nn.Sequential(res_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_path(x).mul_(self.residual_gain).add_(self.id_path(x))


@MODELS.register_module()
class DALLETokenizer(FrozenTokenizer):
    """DALL-E encoder: one of 8192 token ids per 8x8 pixels (a 112 px view gives CAE's 14x14 grid).

    Input: the tokenizer view after DALL-E's ``map_pixels`` (``0.8 * x + 0.1``, ``x`` in [0, 1]), which
    ``TwoNormDataPreprocessor`` with ``second_mean=[-31.875] * 3, second_std=[318.75] * 3`` computes on 0..255 pixels.

    Args:
        checkpoint: ``dalle_encoder.pth`` or ``encoder.pkl`` file, a read state dict, or None: random weights (tests).
        hidden_dims: width of the first group (256 in OpenAI's encoder).
        blocks_per_group: residual blocks per group.
        vocab_size: number of token ids.
        precision: see :class:`FrozenTokenizer`.
        init_cfg: unused (weights come from ``checkpoint``).
    """

    group_widths = (1, 2, 4, 8)
    input_range = (0.1, 0.9)
    preprocessing_hint = (
        'DALL-E expects map_pixels inputs: use TwoNormDataPreprocessor with second_mean=[-31.875] * 3, '
        'second_std=[318.75] * 3 and a two-view crop (cae_mm.TwoViewRandomResizedCrop with second_size=112)'
    )

    def __init__(
        self,
        checkpoint: Optional[Union[str, dict]],
        hidden_dims: int = 256,
        blocks_per_group: int = 2,
        vocab_size: int = 8192,
        precision: Precision = 'auto',
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(vocab_size, 2 ** (len(self.group_widths) - 1), precision, init_cfg)
        num_blocks = len(self.group_widths) * blocks_per_group
        layers: list[tuple[str, nn.Module]] = [('input', _dalle_conv(3, hidden_dims, 7))]
        in_channels = hidden_dims
        for group_index, width in enumerate(self.group_widths):
            out_channels = width * hidden_dims
            group: list[tuple[str, nn.Module]] = []
            for block_index in range(blocks_per_group):
                group.append((f'block_{block_index + 1}', DALLEResidualBlock(in_channels, out_channels, num_blocks)))
                in_channels = out_channels
            if group_index < len(self.group_widths) - 1:
                group.append(('pool', nn.MaxPool2d(kernel_size=2)))
            layers.append((f'group_{group_index + 1}', nn.Sequential(OrderedDict(group))))
        output = OrderedDict([('relu', nn.ReLU(inplace=True)), ('conv', _dalle_conv(in_channels, vocab_size, 1))])
        layers.append(('output', nn.Sequential(output)))
        self.blocks = nn.Sequential(OrderedDict(layers))
        self.load_checkpoint(checkpoint, read_dalle_file, output_weight_key='blocks.output.conv.w')

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, vocab_size, H / 8, W / 8)`` of ``images`` ``(B, 3, H, W)``, float32 after ``map_pixels``."""
        return self.blocks(images)
