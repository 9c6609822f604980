"""Strict loading of pretrained encoder weights into a backbone (probes, fine-tuning, mmdet, mmseg)."""

from collections.abc import Collection
from typing import Optional

from mmengine.logging import MMLogger
from torch import nn

from .errors import CheckpointMismatchError
from .matching import compare_keys, listing
from .reading import read_checkpoint, weights_of


def load_pretrained_weights(
    module: nn.Module,
    checkpoint: Optional[str],
    prefix: str = 'backbone.',
    new_keys: Collection[str] = (),
    unused_keys: Collection[str] = (),
) -> None:
    """Load a module's weights from a checkpoint file, requiring the keys and shapes to match.

    Args:
        module: the module to fill (e.g. a ``CAEVisionTransformer``).
        checkpoint: path of the checkpoint file.
        prefix: the module's prefix in a full model checkpoint; without any key under it the file is the module's own.
        new_keys: module keys that may be absent from the checkpoint; they keep their current values.
        unused_keys: checkpoint keys (after removing ``prefix``) that are skipped on purpose.

    Raises:
        ValueError: no checkpoint given.
        CheckpointReadError: the file is missing, unreadable or holds no weights.
        CheckpointMismatchError: missing or unexpected keys, or tensors of the wrong shape.
    """
    if not checkpoint:
        raise ValueError(
            f'no checkpoint given for the pretrained weights of {type(module).__name__}: set '
            "init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')"
        )
    all_weights = weights_of(read_checkpoint(checkpoint), checkpoint)
    # A full model checkpoint holds the module under prefix; a backbone-only one (or prefix '') is taken whole.
    if prefix and any(key.startswith(prefix) for key in all_weights):
        weights = {key[len(prefix) :]: value for key, value in all_weights.items() if key.startswith(prefix)}
        form = f'full model checkpoint, keys under {prefix!r}'
    else:
        weights, form = dict(all_weights), 'backbone-only checkpoint'
    expected = module.state_dict()
    differences = compare_keys(weights, expected, may_be_missing=new_keys, may_be_unexpected=unused_keys)
    if differences:
        top_level = sorted({key.split('.')[0] + '.' for key in all_weights})
        raise CheckpointMismatchError(
            f'{checkpoint} ({form}) does not match {type(module).__name__}: {differences.describe()}'
            f" | the checkpoint's top-level names are {listing(top_level)}; expected a cae_mm CAE checkpoint "
            f'(keys under {prefix!r}) or a backbone-only one with the same architecture'
        )
    state = dict(expected)
    state.update({key: value for key, value in weights.items() if key in expected})
    module.load_state_dict(state, strict=True)
    kept = sorted(set(new_keys) - set(weights))
    skipped = sorted(set(unused_keys) & set(weights))
    MMLogger.get_current_instance().info(
        f'{type(module).__name__}: loaded {len(expected) - len(kept)} tensors from {checkpoint} ({form})'
        + (f'; newly initialised: {listing(kept)}' if kept else '')
        + (f'; not used on purpose: {listing(skipped)}' if skipped else '')
    )
