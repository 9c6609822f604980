"""mmpretrain 1.2's own CAE, built from the installed package at a chosen size, and cae_mm's CAE of the same size."""

from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

VOCAB_SIZE = 8192


def mmpretrain_cae_config(
    width: int,
    depth: int,
    heads: int,
    head_depth: int,
    tokenizer_hidden: int,
    num_masked: int,
    tokenizer_file: Optional[Union[str, Path]] = None,
    patch_size: int = 16,
    image_size: int = 224,
    layer_scale: float = 0.1,
) -> dict:
    """mmpretrain's CAE config (its ``cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py``) at a chosen size.

    The DALL-E weights come from ``tokenizer_file`` through mmpretrain's own ``init_cfg`` (random if None).
    """
    tokenizer_init = dict(type='Pretrained', checkpoint=str(tokenizer_file)) if tokenizer_file else None
    return dict(
        type='CAE',
        backbone=dict(
            type='CAEPretrainViT',
            arch=dict(embed_dims=width, num_layers=depth, num_heads=heads, feedforward_channels=4 * width),
            img_size=image_size,
            patch_size=patch_size,
            layer_scale_init_value=layer_scale,
            bias='qv_bias',
        ),
        neck=dict(
            type='CAENeck',
            num_classes=VOCAB_SIZE,
            embed_dims=width,
            num_heads=heads,
            regressor_depth=head_depth,
            decoder_depth=head_depth,
            mlp_ratio=4,
            layer_scale_init_value=layer_scale,
            mask_tokens_num=num_masked,
        ),
        head=dict(type='CAEHead', loss=dict(type='CAELoss', lambd=2)),
        target_generator=dict(type='DALL-E', n_hid=tokenizer_hidden, vocab_size=VOCAB_SIZE, init_cfg=tokenizer_init),
        base_momentum=0.0,
    )


def cae_mm_config(
    width: int,
    depth: int,
    heads: int,
    head_depth: int,
    tokenizer_hidden: int,
    tokenizer_file: Optional[Union[str, Path]] = None,
    patch_size: int = 16,
    layer_scale: float = 0.1,
) -> dict:
    """cae_mm's CAE with the same sizes, drop path 0, DALL-E target read from the same file (random if None)."""
    return dict(
        type='cae_mm.CAE',
        backbone=dict(
            type='cae_mm.CAEVisionTransformer',
            arch=dict(embed_dims=width, num_layers=depth, num_heads=heads, layer_scale_init_value=layer_scale),
            patch_size=patch_size,
            drop_path_rate=0.0,
        ),
        neck=dict(
            type='cae_mm.LatentContextRegressor',
            embed_dims=width,
            depth=head_depth,
            num_heads=heads,
            layer_scale_init_value=layer_scale,
        ),
        head=dict(
            type='cae_mm.CAEDecoderHead',
            embed_dims=width,
            out_dims=VOCAB_SIZE,
            depth=head_depth,
            num_heads=heads,
            layer_scale_init_value=layer_scale,
            reconstruction_loss='cross_entropy',
            alignment_weight=2.0,
        ),
        target_generator=dict(
            type='cae_mm.DALLETokenizer',
            checkpoint=str(tokenizer_file) if tokenizer_file else None,
            hidden_dims=tokenizer_hidden,
        ),
    )


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
