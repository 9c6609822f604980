"""The official CAE initialisations, shared by the encoder, the regressor and the decoder."""

import math
from typing import Literal, Sequence

from torch import nn

InitMode = Literal['xavier', 'rescaled_truncated_normal']


def truncated_normal_(tensor, std: float = 0.02) -> None:
    """Fill ``tensor`` in place from the official CAE truncated normal: mean 0, ``std``, cut at ±1 std."""
    nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-std, b=std)


def cae_init_(
    module: nn.Module, std: float = 0.02, mode: InitMode = 'xavier', blocks: Sequence[nn.Module] = ()
) -> None:
    """Initialise as the official CAE pretraining model: Linear weights Xavier-uniform (``'xavier'``) or truncated
    normal, Conv2d weights truncated normal, biases 0, LayerNorms (1, 0); ``'rescaled_truncated_normal'`` then divides
    block ``i``'s (from 1) attention output projection and second feed-forward layer by ``sqrt(2 i)`` (BEiT).

    Args:
        module: root of the tree.
        std: standard deviation of the truncated normal.
        mode: ``'xavier'`` (official default) or ``'rescaled_truncated_normal'`` (official ``--fix_init_weight``);
            another is a ``ValueError``.
        blocks: the transformer blocks of ``module`` in depth order; used by ``'rescaled_truncated_normal'`` only.
    """
    if mode not in ('xavier', 'rescaled_truncated_normal'):
        raise ValueError(f"init mode must be 'xavier' or 'rescaled_truncated_normal', got {mode!r}")
    for child in module.modules():
        if isinstance(child, nn.LayerNorm):
            nn.init.ones_(child.weight)
            nn.init.zeros_(child.bias)
        elif isinstance(child, (nn.Linear, nn.Conv2d)):
            if isinstance(child, nn.Linear) and mode == 'xavier':
                nn.init.xavier_uniform_(child.weight)
            else:
                truncated_normal_(child.weight, std)
            if child.bias is not None:
                nn.init.zeros_(child.bias)
    if mode == 'rescaled_truncated_normal':
        for depth, block in enumerate(blocks, start=1):
            attention = block.attn if hasattr(block, 'attn') else block.cross_attn
            for layer in (attention.proj, block.mlp.fc2):
                layer.weight.data.div_(math.sqrt(2.0 * depth))
