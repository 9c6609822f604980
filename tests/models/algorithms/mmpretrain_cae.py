"""mmpretrain 1.2's own CAE, built from the installed package at a chosen size, and cae_mm's CAE of the same size."""

from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from tests.tools.tool_loading import load_tool

# The benchmark compares the same two models (tools/benchmark.py): one definition of each serves both.
benchmark = load_tool('benchmark.py')
VOCAB_SIZE = benchmark.VOCAB_SIZE
mmpretrain_cae_config = benchmark.mmpretrain_config


def cae_mm_config(tokenizer_file: Optional[Union[str, Path]] = None, **settings) -> dict:
    """cae_mm's CAE with the same sizes, drop path 0, DALL-E target read from the same file (random if None).

    Args:
        tokenizer_file: DALL-E weights file.
        settings: the other arguments of ``cae_mm_config`` in tools/benchmark.py (width, depth, heads, ...).
    """
    return benchmark.cae_mm_config(dalle_weights=str(tokenizer_file) if tokenizer_file else None, **settings)


def perturb_(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Move every trainable parameter off its initial value, so norms, biases and layer scales are all exercised."""
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.requires_grad:
                parameter.add_(0.02 * torch.randn(parameter.shape, generator=generator))


def build_mmpretrain_cae(seed: int = 2, **settings) -> torch.nn.Module:
    """mmpretrain's CAE with perturbed random weights and its teacher a copy of its backbone (as after init_weights).

    Args:
        seed: seed of the perturbation.
        settings: arguments of :func:`mmpretrain_cae_config`.
    """
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMPRETRAIN_MODELS.build(mmpretrain_cae_config(**settings))
        model.init_weights()
    generator = torch.Generator().manual_seed(seed)
    perturb_(model.backbone, generator)
    perturb_(model.neck, generator)
    with torch.no_grad():
        for backbone_parameter, teacher_parameter in zip(model.backbone.parameters(), model.teacher.parameters()):
            teacher_parameter.copy_(backbone_parameter)
    return model
