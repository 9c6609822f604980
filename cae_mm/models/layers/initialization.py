"""The official CAE initialisation, shared by the encoder, the regressor and the decoder."""
from torch import nn


def truncated_normal_(tensor, std: float = 0.02) -> None:
    """Official CAE truncated normal: mean 0, ``std``, cut at ±1 std (not timm's ±2 absolute)."""
    nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-std, b=std)


def cae_init_(module: nn.Module, std: float = 0.02) -> None:
    """Initialise a module tree as the official CAE pretraining model does.

    Every Linear gets a Xavier-uniform weight and zero bias; every LayerNorm is (1, 0); every Conv2d (the patch
    embedding) a truncated normal weight and zero bias. Tokens (cls, mask) are initialised by their owners.

    Args:
        module: root of the tree.
        std: standard deviation of the truncated normal.
    """
    for child in module.modules():
        if isinstance(child, nn.Linear):
            nn.init.xavier_uniform_(child.weight)
            if child.bias is not None:
                nn.init.zeros_(child.bias)
        elif isinstance(child, nn.LayerNorm):
            nn.init.ones_(child.weight)
            nn.init.zeros_(child.bias)
        elif isinstance(child, nn.Conv2d):
            truncated_normal_(child.weight, std)
            if child.bias is not None:
                nn.init.zeros_(child.bias)
