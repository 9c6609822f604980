"""Generated DALL-E weights files in both public formats, so no test downloads anything.

* mmpretrain's ``dalle_encoder.pth``: ``torch.save`` of a state dict (mmpretrain's ``DALLEEncoder`` builds it).
* OpenAI's ``encoder.pkl``: ``torch.save`` of the whole module. Classes named exactly like OpenAI's
  (``dall_e.encoder.Encoder``, ``dall_e.encoder.EncoderBlock``, ``dall_e.utils.Conv2d``, with their attributes) are put
  into ``sys.modules`` only while the file is written, then removed: the loader must read the file without them.
"""

import sys
import types
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from mmpretrain.models.selfsup.cae import DALLEEncoder
from torch import nn


def random_dalle_state_dict(hidden: int = 16, vocab_size: int = 8192, seed: int = 0) -> dict[str, torch.Tensor]:
    """A DALL-E encoder state dict with random weights and biases (mmpretrain's key layout)."""
    torch.manual_seed(seed)
    state_dict = DALLEEncoder(n_hid=hidden, vocab_size=vocab_size).state_dict()
    for key, tensor in state_dict.items():
        if key.endswith('.b'):
            tensor.normal_(std=0.01)
    return state_dict


def _openai_style_classes() -> dict[str, type]:
    """Stand-ins for OpenAI's ``dall_e`` classes: same names, attributes and sub-module layout."""

    class Conv2d(nn.Module):
        def __init__(self, n_in: int, n_out: int, kw: int, use_float16: bool = True) -> None:
            super().__init__()
            self.n_in, self.n_out, self.kw, self.use_float16 = n_in, n_out, kw, use_float16
            self.device, self.requires_grad = torch.device('cpu'), False
            self.w = nn.Parameter(torch.zeros(n_out, n_in, kw, kw), requires_grad=False)
            self.b = nn.Parameter(torch.zeros(n_out), requires_grad=False)

    class EncoderBlock(nn.Module):
        def __init__(self, n_in: int, n_out: int, n_layers: int) -> None:
            super().__init__()
            self.n_in, self.n_out, self.n_layers = n_in, n_out, n_layers
            self.device, self.requires_grad = None, False
            self.n_hid, self.post_gain = n_out // 4, 1 / n_layers**2
            self.id_path = Conv2d(n_in, n_out, 1) if n_in != n_out else nn.Identity()
            self.res_path = nn.Sequential(
                OrderedDict(
                    [
                        ('relu_1', nn.ReLU()),
                        ('conv_1', Conv2d(n_in, self.n_hid, 3)),
                        ('relu_2', nn.ReLU()),
                        ('conv_2', Conv2d(self.n_hid, self.n_hid, 3)),
                        ('relu_3', nn.ReLU()),
                        ('conv_3', Conv2d(self.n_hid, self.n_hid, 3)),
                        ('relu_4', nn.ReLU()),
                        ('conv_4', Conv2d(self.n_hid, n_out, 1)),
                    ]
                )
            )

    class Encoder(nn.Module):
        def __init__(self, n_hid: int, vocab_size: int) -> None:
            super().__init__()
            self.group_count, self.n_hid, self.n_blk_per_group = 4, n_hid, 2
            self.input_channels, self.vocab_size = 3, vocab_size
            self.device, self.requires_grad, self.use_mixed_precision = torch.device('cpu'), False, True
            groups = [('input', Conv2d(3, n_hid, 7))]
            widths = [n_hid, n_hid, 2 * n_hid, 4 * n_hid, 8 * n_hid]
            for group in range(1, 5):
                layers = [
                    (f'block_{i + 1}', EncoderBlock(widths[group - 1] if i == 0 else widths[group], widths[group], 8))
                    for i in range(2)
                ]
                if group < 4:
                    layers.append(('pool', nn.MaxPool2d(kernel_size=2)))
                groups.append((f'group_{group}', nn.Sequential(OrderedDict(layers))))
            groups.append(
                (
                    'output',
                    nn.Sequential(
                        OrderedDict(
                            [('relu', nn.ReLU()), ('conv', Conv2d(8 * n_hid, vocab_size, 1, use_float16=False))]
                        )
                    ),
                )
            )
            self.blocks = nn.Sequential(OrderedDict(groups))

    Conv2d.__module__ = 'dall_e.utils'
    EncoderBlock.__module__ = Encoder.__module__ = 'dall_e.encoder'
    for cls in (Conv2d, EncoderBlock, Encoder):
        cls.__qualname__ = cls.__name__
    return dict(Conv2d=Conv2d, EncoderBlock=EncoderBlock, Encoder=Encoder)


def write_openai_style_pickle(path: Path, state_dict: dict[str, torch.Tensor]) -> None:
    """``torch.save`` a whole OpenAI-style ``dall_e.encoder.Encoder`` holding ``state_dict``, like ``encoder.pkl``."""
    classes = _openai_style_classes()
    hidden, vocab_size = state_dict['blocks.input.w'].shape[0], state_dict['blocks.output.conv.w'].shape[0]
    package, encoder_module, utils_module = (
        types.ModuleType(name) for name in ('dall_e', 'dall_e.encoder', 'dall_e.utils')
    )
    utils_module.Conv2d = classes['Conv2d']
    encoder_module.EncoderBlock, encoder_module.Encoder = classes['EncoderBlock'], classes['Encoder']
    package.encoder, package.utils = encoder_module, utils_module
    with pytest.MonkeyPatch.context() as patch:
        for module in (package, encoder_module, utils_module):
            patch.setitem(sys.modules, module.__name__, module)
        encoder = classes['Encoder'](hidden, vocab_size)
        encoder.load_state_dict(state_dict)
        torch.save(encoder, path)
    assert 'dall_e' not in sys.modules
