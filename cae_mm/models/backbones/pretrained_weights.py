"""Checked loading of pretrained encoder weights into a backbone (probes, fine-tuning, mmdet, mmseg).

mmengine's ``Pretrained`` initialiser loads with ``strict=False`` and only logs missing keys, so a probe can train on a
randomly initialised encoder without anyone noticing. Here every key must match, except the ones the caller names as
new (initialised here, e.g. fine-tuning's relative position bias) or as deliberately unused (e.g. the final norm that
mean-pooled fine-tuning drops); anything else is a :class:`PretrainedWeightsMismatchError` listing the keys.
"""
from collections.abc import Collection, Mapping

import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn


class PretrainedWeightsMismatchError(ValueError):
    """A checkpoint whose keys or shapes do not match the module it is loaded into."""


def _listing(keys: Collection[str], limit: int = 20) -> str:
    keys = sorted(keys)
    shown = ', '.join(keys[:limit])
    return f'{shown}, ... ({len(keys)} in all)' if len(keys) > limit else shown


def checkpoint_state_dict(checkpoint: Mapping) -> Mapping[str, torch.Tensor]:
    """The tensors of a loaded checkpoint: its ``state_dict`` (mmengine), ``model`` (official CAE) or itself."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), Mapping):
            return checkpoint[key]
    return checkpoint


def select_prefixed(state_dict: Mapping[str, torch.Tensor], prefix: str) -> tuple[dict[str, torch.Tensor], str]:
    """The backbone's tensors from a full model checkpoint or a backbone-only one.

    Args:
        state_dict: the checkpoint's tensors.
        prefix: the backbone's prefix in a full model checkpoint, e.g. ``'backbone.'``; ``''`` takes every key.

    Returns:
        ``(tensors with the prefix removed, description of the checkpoint form)``. When no key starts with
        ``prefix`` the checkpoint is taken to be backbone-only and returned unchanged.
    """
    if prefix and any(key.startswith(prefix) for key in state_dict):
        selected = {key[len(prefix):]: value for key, value in state_dict.items() if key.startswith(prefix)}
        return selected, f'full model checkpoint, keys under {prefix!r}'
    return dict(state_dict), 'backbone-only checkpoint'


def load_pretrained_weights(module: nn.Module,
                            checkpoint: str,
                            prefix: str = 'backbone.',
                            new_keys: Collection[str] = (),
                            unused_keys: Collection[str] = ()) -> None:
    """Load a module's weights from a checkpoint, requiring the keys and shapes to match.

    Args:
        module: the module to fill (e.g. a ``CAEVisionTransformer``).
        checkpoint: checkpoint path (anything mmengine's ``CheckpointLoader`` reads).
        prefix: the module's prefix in a full model checkpoint (``'backbone.'`` in a CAE or classifier checkpoint);
            a checkpoint without any key under it is read as the module's own state dict.
        new_keys: module keys that may be absent from the checkpoint; they keep their current values.
        unused_keys: checkpoint keys (after removing ``prefix``) that are skipped on purpose.

    Raises:
        PretrainedWeightsMismatchError: missing or unexpected keys, or tensors of the wrong shape.
        CheckpointReadError: the file is missing or unreadable.
    """
    if not checkpoint:
        raise ValueError(f'no checkpoint given for the pretrained weights of {type(module).__name__}: set '
                         "init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')")
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(loaded, Mapping):
        raise PretrainedWeightsMismatchError(f'{checkpoint} holds a {type(loaded).__name__}, not a state dict')
    weights, form = select_prefixed(checkpoint_state_dict(loaded), prefix)
    expected = module.state_dict()
    missing = set(expected) - set(weights) - set(new_keys)
    unexpected = set(weights) - set(expected) - set(unused_keys)
    wrong_shapes = [
        f'{key}: checkpoint {tuple(weights[key].shape)}, model {tuple(expected[key].shape)}'
        for key in sorted(set(weights) & set(expected)) if weights[key].shape != expected[key].shape
    ]
    if missing or unexpected or wrong_shapes:
        problems = []
        if missing:
            problems.append(f'missing keys: {_listing(missing)}')
        if unexpected:
            problems.append(f'unexpected keys: {_listing(unexpected)}')
        if wrong_shapes:
            problems.append(f'wrong shapes: {"; ".join(wrong_shapes)}')
        top_level = sorted({key.split('.')[0] + '.' for key in checkpoint_state_dict(loaded)})
        raise PretrainedWeightsMismatchError(
            f'{checkpoint} ({form}) does not match {type(module).__name__}: ' + ' | '.join(problems) +
            f' | the checkpoint\'s top-level names are {_listing(top_level)}; expected a cae_mm CAE checkpoint '
            f'(keys under {prefix!r}) or a backbone-only one with the same architecture')
    state = dict(expected)
    state.update({key: value for key, value in weights.items() if key in expected})
    module.load_state_dict(state, strict=True)
    kept = sorted(set(new_keys) - set(weights))
    skipped = sorted(set(unused_keys) & set(weights))
    MMLogger.get_current_instance().info(
        f'{type(module).__name__}: loaded {len(expected) - len(kept)} tensors from {checkpoint} ({form})' +
        (f'; newly initialised: {_listing(kept)}' if kept else '') +
        (f'; not used on purpose: {_listing(skipped)}' if skipped else ''))
