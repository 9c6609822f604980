"""Key conversions between CAE checkpoint layouts: the official code, mmpretrain/mmselfsup, cae_mm, backbone-only.

Each layout pair is one table of name templates, ``(cae_mm name, other name)``, with typed placeholders (``{i}`` a block
index, ``{p}`` weight or bias, ...), read in either direction, so a round trip is the identity by construction. Every
input key must match a template or a deliberate drop; anything else is an error that lists the keys. Deliberate drops:

* position tables (``pos_embed``, ``rd_pos_embed``), only after checking they are cae_mm's fixed sin-cos table
  (converting to mmpretrain recreates it);
* the encoder copies ``teacher.*`` (mmpretrain) and ``alignment_encoder.*`` (official): cae_mm encodes the targets
  with the encoder itself (converting to mmpretrain writes ``teacher`` as a copy of the backbone);
* mmpretrain's ``target_generator.*``: tokenizer weights stay out of checkpoints
  (:func:`mmpretrain_tokenizer_state_dict` extracts them);
* regressor layer scales that are constant ones, only when the decoder has no layer scale either (both libraries give
  regressor and decoder one setting; cae_mm has no parameter when it is off).
"""

import math
import re
from pathlib import Path
from typing import Any, Optional, Union

import torch
from mmengine.config import Config

from cae_mm.checkpoints import CheckpointConversionError, atomic_save, compare_keys
from cae_mm.models.layers import build_2d_sincos_position_embedding
from cae_mm.registry import MODELS


PLACEHOLDERS = {
    'i': r'\d+',
    'p': r'weight|bias',
    'g': r'[12]',
    'n': r'[qkv]',
    'f': r'[12]',
    'attention': r'qkv\.weight|q_bias|v_bias|proj\.weight|proj\.bias',
    'cross_attention': r'[qkv]\.weight|q_bias|v_bias|proj\.weight|proj\.bias',
}

NameTable = list[tuple[str, str]]


def _self_attention_block(
    cae_mm_prefix: str, other_prefix: str, norm1: str, norm2: str, fc1: str, fc2: str
) -> NameTable:
    return [
        (f'{cae_mm_prefix}.norm1.{{p}}', f'{other_prefix}.{norm1}.{{p}}'),
        (f'{cae_mm_prefix}.attn.{{attention}}', f'{other_prefix}.attn.{{attention}}'),
        (f'{cae_mm_prefix}.norm2.{{p}}', f'{other_prefix}.{norm2}.{{p}}'),
        (f'{cae_mm_prefix}.mlp.fc1.{{p}}', f'{other_prefix}.{fc1}.{{p}}'),
        (f'{cae_mm_prefix}.mlp.fc2.{{p}}', f'{other_prefix}.{fc2}.{{p}}'),
        (f'{cae_mm_prefix}.gamma_{{g}}', f'{other_prefix}.gamma_{{g}}'),
    ]


def _mmpretrain_self_attention_block(cae_mm_prefix: str, other_prefix: str) -> NameTable:
    return _self_attention_block(cae_mm_prefix, other_prefix, 'ln1', 'ln2', 'ffn.layers.0.0', 'ffn.layers.1')


def _official_self_attention_block(cae_mm_prefix: str, other_prefix: str) -> NameTable:
    return _self_attention_block(cae_mm_prefix, other_prefix, 'norm1', 'norm2', 'mlp.fc1', 'mlp.fc2')


MMPRETRAIN_BACKBONE_NAMES: NameTable = [
    ('backbone.cls_token', 'backbone.cls_token'),
    ('backbone.patch_embed.{p}', 'backbone.patch_embed.projection.{p}'),
    *_mmpretrain_self_attention_block('backbone.layers.{i}', 'backbone.layers.{i}'),
    ('backbone.norm.{p}', 'backbone.ln1.{p}'),
]
"""cae_mm's encoder and mmpretrain's ``CAEPretrainViT`` / ``BEiTViT`` (``pos_embed`` handled apart)."""

MMPRETRAIN_NAMES: NameTable = [
    *MMPRETRAIN_BACKBONE_NAMES,
    ('neck.mask_token', 'neck.mask_token'),
    ('neck.blocks.{i}.norm1_{n}.{p}', 'neck.regressors.{i}.norm1_{n}_cross.{p}'),
    ('neck.blocks.{i}.cross_attn.{cross_attention}', 'neck.regressors.{i}.cross_attn.{cross_attention}'),
    ('neck.blocks.{i}.norm2.{p}', 'neck.regressors.{i}.norm2_cross.{p}'),
    ('neck.blocks.{i}.mlp.fc1.{p}', 'neck.regressors.{i}.ffn.layers.0.0.{p}'),
    ('neck.blocks.{i}.mlp.fc2.{p}', 'neck.regressors.{i}.ffn.layers.1.{p}'),
    ('neck.blocks.{i}.gamma_{g}', 'neck.regressors.{i}.gamma_{g}_cross'),
    ('neck.norm.{p}', 'neck.norm_regressor.{p}'),
    *_mmpretrain_self_attention_block('head.blocks.{i}', 'neck.decoders.{i}'),
    ('head.norm.{p}', 'neck.norm_decoder.{p}'),
    ('head.predictor.{p}', 'neck.head.{p}'),
]
"""cae_mm's CAE and mmpretrain's ``CAE`` (``CAEPretrainViT`` + ``CAENeck``, whose decoder lives in the neck)."""

OFFICIAL_NAMES: NameTable = [
    ('backbone.cls_token', 'encoder.cls_token'),
    ('backbone.patch_embed.{p}', 'encoder.patch_embed.proj.{p}'),
    *_official_self_attention_block('backbone.layers.{i}', 'encoder.blocks.{i}'),
    ('backbone.norm.{p}', 'encoder.norm.{p}'),
    ('neck.projection.0.{p}', 'encoder_to_regresser.{p}'),
    ('neck.projection.1.{p}', 'encoder_to_regresser_norm.{p}'),
    ('neck.mask_token', 'mask_token'),
    ('neck.blocks.{i}.norm1_{n}.{p}', 'regresser.regressor_blocks.{i}.norm1_{n}.{p}'),
    ('neck.blocks.{i}.cross_attn.{cross_attention}', 'regresser.regressor_blocks.{i}.cross_attn.{cross_attention}'),
    ('neck.blocks.{i}.norm2.{p}', 'regresser.regressor_blocks.{i}.norm2_cross.{p}'),
    ('neck.blocks.{i}.mlp.fc{f}.{p}', 'regresser.regressor_blocks.{i}.mlp_cross.fc{f}.{p}'),
    ('neck.blocks.{i}.gamma_{g}', 'regresser.regressor_blocks.{i}.gamma_{g}_cross'),
    ('neck.norm.{p}', 'regresser.norm.{p}'),
    *_official_self_attention_block('head.blocks.{i}', 'decoder.decoder_blocks.{i}'),
    ('head.norm.{p}', 'decoder.norm.{p}'),
    ('head.predictor.{p}', 'decoder.head.{p}'),
]
"""cae_mm's CAE and the official ``ContextAutoencoderViT`` (Atten4Vis/CAE ``models/modeling_cae.py``)."""


def _template_regex(template: str) -> re.Pattern:
    pattern = ''
    for literal, placeholder in re.findall(r'([^{]*)(?:\{(\w+)\})?', template):
        pattern += re.escape(literal)
        if placeholder:
            pattern += f'(?P<{placeholder}>{PLACEHOLDERS[placeholder]})'
    return re.compile(pattern + r'\Z')


def rename_keys(
    state_dict: dict[str, torch.Tensor], table: NameTable, reverse: bool = False
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename keys by a name table.

    Args:
        state_dict: ``{name: tensor}``.
        table: ``(cae_mm template, other template)`` pairs.
        reverse: read the table from the other layout to cae_mm (False: cae_mm to the other layout).

    Returns:
        ``(renamed, unmatched)``: the renamed entries, and the keys that no template matches.
    """
    rules = [(_template_regex(other if reverse else ours), ours if reverse else other) for ours, other in table]
    renamed, unmatched = {}, []
    for key, tensor in state_dict.items():
        for regex, target in rules:
            found = regex.match(key)
            if found:
                renamed[target.format(**found.groupdict())] = tensor
                break
        else:
            unmatched.append(key)
    return renamed, unmatched


def check_sincos_position_table(table: torch.Tensor, key: str) -> tuple[int, int]:
    """Check that a stored position table is the fixed 2-D sin-cos table, so that dropping it loses nothing.

    Args:
        table: ``(1, [1 +] h*w, C)`` (a zero cls slot is allowed).
        key: its name, for the error message.

    Returns:
        The square patch grid ``(h, w)`` it was built for.

    Raises:
        CheckpointConversionError: the table is learned or otherwise not cae_mm's sin-cos table.
    """
    if table.dim() != 3 or table.shape[0] != 1:
        raise CheckpointConversionError(f'{key} has shape {tuple(table.shape)}, expected (1, tokens, channels)')
    tokens, channels = table.shape[1:]
    for with_cls_token in (True, False):
        side = math.isqrt(tokens - int(with_cls_token))
        if side * side == tokens - int(with_cls_token) and channels % 4 == 0:
            expected = build_2d_sincos_position_embedding((side, side), channels, with_cls_token=with_cls_token)
            difference = float((table.float() - expected).abs().max())
            if difference <= 1e-5:
                return side, side
            raise CheckpointConversionError(
                f'{key} is not the fixed 2-D sin-cos table cae_mm computes (max abs difference {difference:.3g}): a '
                'learned or different position table cannot be dropped; cae_mm has no position parameter to hold it'
            )
    raise CheckpointConversionError(f'{key} of shape {tuple(table.shape)} is not a sin-cos table of a square grid')


def _raise_on_unknown(unmatched: list[str], source: str) -> None:
    if unmatched:
        raise CheckpointConversionError(
            f'{len(unmatched)} keys of the {source} checkpoint have no cae_mm counterpart '
            f'(is it a CAE pretraining checkpoint?): {sorted(unmatched)}'
        )


def _drop_constant_regressor_gammas(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove regressor layer scales that are frozen ones, when the decoder has no layer scale either."""
    if any(re.match(r'head\.blocks\.\d+\.gamma_[12]\Z', key) for key in state_dict):
        return state_dict
    kept = {}
    for key, tensor in state_dict.items():
        if re.match(r'neck\.blocks\.\d+\.gamma_[12]\Z', key):
            if not bool((tensor == 1).all()):
                raise CheckpointConversionError(
                    f'{key} is a learned regressor layer scale but the decoder has none: cae_mm and the source both '
                    'use one layer-scale setting for regressor and decoder, so this checkpoint is inconsistent'
                )
            continue
        kept[key] = tensor
    return kept


def _pretraining_to_cae_mm(
    state_dict: dict[str, torch.Tensor],
    position_tables: tuple[str, ...],
    dropped_prefixes: tuple[str, ...],
    names: NameTable,
    source: str,
) -> dict[str, torch.Tensor]:
    """A foreign CAE pretraining state dict -> cae_mm's ``CAE``: what every pretraining converter does.

    Args:
        state_dict: the foreign state dict.
        position_tables: keys of sin-cos position tables; each is checked to be the table cae_mm computes, then dropped.
        dropped_prefixes: prefixes of weights cae_mm has no place for (copies of the encoder, a tokenizer).
        names: the name table between cae_mm's keys and the source's.
        source: the source's name, for the error message.

    Returns:
        The kept weights under cae_mm's names, without the regressor layer scales that are frozen ones.

    Raises:
        CheckpointConversionError: unknown keys, or a position table that is not sin-cos.
    """
    kept = {}
    for key, tensor in state_dict.items():
        if key in position_tables:
            check_sincos_position_table(tensor, key)
        elif not key.startswith(dropped_prefixes):
            kept[key] = tensor
    converted, unmatched = rename_keys(kept, names, reverse=True)
    _raise_on_unknown(unmatched, source)
    return _drop_constant_regressor_gammas(converted)


def official_to_cae_mm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official CAE pretraining weights (``checkpoint['model']``) -> cae_mm's ``CAE``.

    Args:
        state_dict: the official ``ContextAutoencoderViT`` state dict.

    Returns:
        cae_mm names: ``backbone.*``, ``neck.*`` (regressor, incl. the projection when widths differ), ``head.*``
        (decoder and predictor). ``alignment_encoder.*`` (an aliased copy of the encoder) and the checked sin-cos
        tables are dropped.

    Raises:
        CheckpointConversionError: unknown keys, or a position table that is not sin-cos.
    """
    return _pretraining_to_cae_mm(
        state_dict,
        ('encoder.pos_embed', 'rd_pos_embed', 'alignment_encoder.pos_embed'),
        ('alignment_encoder.',),
        OFFICIAL_NAMES,
        'official CAE',
    )


def mmpretrain_to_cae_mm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmpretrain 1.x / mmselfsup 1.x ``CAE`` weights -> cae_mm's ``CAE``.

    Args:
        state_dict: mmpretrain's ``CAE`` state dict (``checkpoint['state_dict']``).

    Returns:
        cae_mm names. ``teacher.*`` (the stale copy of the backbone), ``target_generator.*`` (the DALL-E weights) and
        the checked ``pos_embed`` tables are dropped.

    Raises:
        CheckpointConversionError: unknown keys, or a position table that is not sin-cos.
    """
    return _pretraining_to_cae_mm(
        state_dict,
        ('backbone.pos_embed', 'teacher.pos_embed'),
        ('teacher.', 'target_generator.'),
        MMPRETRAIN_NAMES,
        'mmpretrain CAE',
    )


def mmpretrain_tokenizer_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The DALL-E encoder inside an mmpretrain ``CAE`` checkpoint, as a ``dalle_encoder.pth`` state dict.

    Raises:
        CheckpointConversionError: the checkpoint holds no ``target_generator.*`` weights.
    """
    prefix = 'target_generator.'
    tokenizer = {key[len(prefix) :]: tensor for key, tensor in state_dict.items() if key.startswith(prefix)}
    if not tokenizer:
        raise CheckpointConversionError('the checkpoint holds no target_generator.* weights')
    return tokenizer


def _mmpretrain_backbone_position_table(
    state_dict: dict[str, torch.Tensor], grid_size: tuple[int, int]
) -> torch.Tensor:
    cls_token = state_dict.get('backbone.cls_token')
    if cls_token is None:
        raise CheckpointConversionError('the checkpoint has no backbone.cls_token: not a cae_mm CAE checkpoint')
    table = build_2d_sincos_position_embedding(grid_size, cls_token.shape[-1], with_cls_token=True)
    return table.to(cls_token.dtype)


def cae_mm_to_mmpretrain(
    state_dict: dict[str, torch.Tensor],
    grid_size: tuple[int, int] = (14, 14),
    tokenizer_state_dict: Optional[dict[str, torch.Tensor]] = None,
) -> dict[str, torch.Tensor]:
    """cae_mm ``CAE`` weights -> mmpretrain's ``CAE`` (``CAEPretrainViT`` + ``CAENeck`` + ``CAEHead``).

    Args:
        state_dict: cae_mm's ``CAE`` state dict.
        grid_size: patch grid of mmpretrain's fixed ``pos_embed`` (14x14 for 224 px and 16 px patches).
        tokenizer_state_dict: DALL-E weights (``dalle_encoder.pth``) to store as ``target_generator.*``, as
            mmpretrain's checkpoints do; None leaves them out (mmpretrain then loads them from its ``init_cfg``).

    Returns:
        mmpretrain names, with ``backbone.pos_embed`` and the ``teacher.*`` copy of the backbone added.

    Raises:
        CheckpointConversionError: unknown keys, or a regressor projection (mmpretrain's regressor is always as wide as
            the encoder), or layer scale in only one of regressor and decoder.
    """
    if any(key.startswith('neck.projection.') for key in state_dict):
        raise CheckpointConversionError(
            'this cae_mm CAE has a regressor narrower or wider than its encoder '
            "(neck.projection.*); mmpretrain's CAE cannot represent that"
        )
    converted, unmatched = rename_keys(state_dict, MMPRETRAIN_NAMES)
    _raise_on_unknown(unmatched, 'cae_mm')
    regressor_gammas = [key for key in converted if re.match(r'neck\.regressors\.\d+\.gamma_[12]_cross\Z', key)]
    decoder_gammas = [key for key in converted if re.match(r'neck\.decoders\.\d+\.gamma_[12]\Z', key)]
    if bool(regressor_gammas) != bool(decoder_gammas):
        raise CheckpointConversionError(
            "mmpretrain's CAENeck uses one layer-scale setting for regressor and decoder; "
            'this checkpoint has layer scale in only one of them'
        )
    if not regressor_gammas:
        # mmpretrain keeps frozen ones where layer scale is off.
        for key in state_dict:
            found = re.match(r'neck\.blocks\.(\d+)\.norm2\.weight\Z', key)
            if found:
                for index in (1, 2):
                    converted[f'neck.regressors.{found[1]}.gamma_{index}_cross'] = torch.ones_like(state_dict[key])
    converted['backbone.pos_embed'] = _mmpretrain_backbone_position_table(state_dict, grid_size)
    for key in [key for key in converted if key.startswith('backbone.')]:
        converted['teacher.' + key[len('backbone.') :]] = converted[key].clone()
    for key, tensor in (tokenizer_state_dict or {}).items():
        converted['target_generator.' + key] = tensor
    return converted


def cae_mm_to_backbone(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """cae_mm ``CAE`` weights -> the encoder alone, keys ``backbone.*``.

    For cae_mm's ``CAEVisionTransformer`` in mmpretrain classifiers, mmdet detectors and mmseg segmentors: load it with
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` on the backbone, or ``load_from``.

    Raises:
        CheckpointConversionError: no ``backbone.*`` keys, or encoder keys that are not cae_mm's (an mmpretrain CAE or
            MAE checkpoint, another ViT).
    """
    backbone = {key: tensor for key, tensor in state_dict.items() if key.startswith('backbone.')}
    if not backbone:
        raise CheckpointConversionError('the checkpoint has no backbone.* keys: not a cae_mm CAE checkpoint')
    _, unmatched = rename_keys(backbone, MMPRETRAIN_BACKBONE_NAMES)
    foreign = [key for key in unmatched if not re.match(r'backbone\.relative_position_bias\.\d+\.table\Z', key)]
    if foreign:
        raise CheckpointConversionError(
            f"{len(foreign)} backbone keys are not those of cae_mm's CAEVisionTransformer: {sorted(foreign)[:8]} "
            '(an mmpretrain checkpoint? convert a CAE one with mmpretrain_cae_to_cae_mm.py first; other '
            'architectures such as MAE cannot be used)'
        )
    return backbone


def cae_mm_to_mmpretrain_backbone(
    state_dict: dict[str, torch.Tensor], grid_size: tuple[int, int] = (14, 14)
) -> dict[str, torch.Tensor]:
    """cae_mm ``CAE`` weights -> an encoder for mmpretrain's own ``BEiTViT`` classifiers (``backbone.*`` keys).

    mmpretrain's CAE fine-tuning configs use ``BEiTViT`` with ``init_cfg=dict(type='Pretrained', prefix='backbone.')``.

    Args:
        state_dict: cae_mm's ``CAE`` (or backbone-only) state dict.
        grid_size: patch grid of the fixed ``pos_embed`` written for mmpretrain.

    Returns:
        mmpretrain ``BEiTViT`` names with the sin-cos ``backbone.pos_embed``.
    """
    converted, unmatched = rename_keys(cae_mm_to_backbone(state_dict), MMPRETRAIN_BACKBONE_NAMES)
    _raise_on_unknown(unmatched, 'cae_mm backbone')
    converted['backbone.pos_embed'] = _mmpretrain_backbone_position_table(state_dict, grid_size)
    return converted


def check_grid_size(grid_size: tuple[int, int], model_grid: Optional[tuple[int, int]] = None) -> tuple[int, int]:
    """Check the patch grid a converter writes position tables for.

    Args:
        grid_size: ``(rows, columns)`` from the command line.
        model_grid: the grid of the model that wrote the checkpoint, when known (see :func:`training_grid_size`).

    Returns:
        ``grid_size`` as a tuple.

    Raises:
        CheckpointConversionError: a non-positive size, or one other than ``model_grid``.
    """
    grid_size = tuple(int(side) for side in grid_size)
    if len(grid_size) != 2 or min(grid_size) < 1:
        raise CheckpointConversionError(f'--grid-size must be two positive numbers of patches, got {grid_size}')
    if model_grid is not None and grid_size != tuple(model_grid):
        raise CheckpointConversionError(
            f'--grid-size {grid_size[0]} {grid_size[1]} does not match the {model_grid[0]}x{model_grid[1]} patch grid '
            'the checkpoint was trained with (its config): pass --grid-size '
            f'{model_grid[0]} {model_grid[1]}'
        )
    return grid_size


def training_grid_size(checkpoint: Any) -> Optional[tuple[int, int]]:
    """The patch grid of the training crops, read from a Runner checkpoint's config text (``meta.cfg``).

    Returns:
        ``(rows, columns)``, or None when the checkpoint carries no config or the config does not say.
    """
    text = checkpoint.get('meta', {}).get('cfg') if isinstance(checkpoint, dict) else None
    if not isinstance(text, str):
        return None
    try:
        cfg = Config.fromstring(text, file_format='.py')
        patch_size = int(cfg.model.backbone.patch_size)
        pipeline = cfg.train_dataloader.dataset.pipeline
    except Exception:  # a config this code cannot read says nothing about the grid
        return None
    for transform in pipeline:
        if str(transform.get('type', '')).endswith('RandomResizedCrop'):
            size = transform.get('size', transform.get('scale'))
            side = size if isinstance(size, int) else None
            if side and side % patch_size == 0:
                return side // patch_size, side // patch_size
    return None


def save_converted(
    state_dict: dict[str, torch.Tensor], path: Union[str, Path], source: Union[str, Path], converter: str
) -> None:
    """Write ``{'meta': {...}, 'state_dict': ...}`` (the layout ``load_from`` and ``Pretrained`` read), atomically.

    Raises:
        CheckpointConversionError: ``state_dict`` is empty (a converter never writes a file without weights).
    """
    if not state_dict:
        raise CheckpointConversionError(f'converting {source} gave no tensors: nothing written to {path}')
    atomic_save(dict(meta=dict(converted_from=str(source), converter=converter), state_dict=state_dict), path)


def check_against_config(state_dict: dict[str, torch.Tensor], config_path: Union[str, Path]) -> None:
    """Check a converted cae_mm CAE state dict against the model of a cae_mm config (backbone, neck and head).

    The tokenizer is not built: it is not part of checkpoints, and its weights file need not be present.

    Raises:
        CheckpointConversionError: listing every missing key, unexpected key and shape mismatch.
    """
    cfg = Config.fromfile(config_path)
    model = torch.nn.Module()
    for part in ('backbone', 'neck', 'head'):
        if part in cfg.model:
            setattr(model, part, MODELS.build(cfg.model[part]))
    check_against_model(state_dict, model)


def check_against_model(state_dict: dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    """Check that ``state_dict`` fills exactly ``model``'s state dict, with the same shapes.

    Raises:
        CheckpointConversionError: listing every missing key, unexpected key and shape mismatch.
    """
    differences = compare_keys(state_dict, model.state_dict())
    if differences:
        raise CheckpointConversionError(f'the converted checkpoint does not match the model: {differences.describe()}')
