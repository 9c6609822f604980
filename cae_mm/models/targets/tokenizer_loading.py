"""Read a tokenizer's weights file into a flat ``{name: tensor}`` dict, with errors that say how to fix the file."""

from pathlib import Path
from typing import Collection, Union

import torch

from cae_mm.checkpoints import CheckpointReadError, TokenizerWeightsError, read_checkpoint, weights_of
from cae_mm.checkpoints.unpickling import StandIn, pickled_module_tensors, stand_in_for

__all__ = ['TokenizerWeightsError', 'read_tokenizer_file']


def read_tokenizer_file(
    path: Union[str, Path],
    tokenizer_name: str,
    how_to_obtain: str,
    container_keys: Collection[str] = ('state_dict',),
    pickled_module_classes: Collection[str] = (),
    pickled_root_class: str = '',
) -> dict[str, torch.Tensor]:
    """``{name: tensor}``, as the file names them, of the weights file ``path``: a state dict or a pickled module.

    Args:
        path: the file.
        tokenizer_name: used in error messages, e.g. ``'DALL-E encoder'``.
        how_to_obtain: appended to every error: where to get the file and where to put it.
        container_keys: keys under which a saved dict may hold the state dict (``'state_dict'``, ``'weights'``).
        pickled_module_classes: ``'module.Name'`` of the classes a pickled module may hold (read as inert
            stand-ins); empty: pickled modules are refused.
        pickled_root_class: the class the pickled module itself must be (e.g. ``'dall_e.encoder.Encoder'``).

    Raises:
        TokenizerWeightsError: missing, truncated or corrupt file, wrong content, a pickle naming anything outside
            ``pickled_module_classes`` (nothing from such a file is executed), or a cyclic or too deep module tree.
    """
    path = Path(path)
    if not path.is_file():
        raise TokenizerWeightsError(f'{tokenizer_name} weights not found at {path}. {how_to_obtain}')
    stand_ins = {tuple(name.rsplit('.', 1)): stand_in_for(name) for name in pickled_module_classes}
    try:
        loaded = read_checkpoint(path, extra_globals=stand_ins)
    except CheckpointReadError as error:
        if str(error).startswith('refusing to load'):
            allowed = ', '.join(sorted(pickled_module_classes)) or 'none: only plain state dicts'
            raise TokenizerWeightsError(
                f'{error} (allowed classes for a {tokenizer_name}: {allowed}). {how_to_obtain}'
            ) from error
        raise TokenizerWeightsError(
            f'cannot read {tokenizer_name} weights {path}: the file is truncated, corrupt or '
            f'not a PyTorch file ({error}). {how_to_obtain}'
        ) from error
    if isinstance(loaded, StandIn) and loaded.pickled_class != 'argparse.Namespace':
        if loaded.pickled_class != pickled_root_class:
            raise TokenizerWeightsError(
                f'{path} holds a pickled {loaded.pickled_class}, not a {tokenizer_name} '
                f'({pickled_root_class}). {how_to_obtain}'
            )
        try:
            tensors = pickled_module_tensors(loaded, str(path))
        except CheckpointReadError as error:
            raise TokenizerWeightsError(f'{error}. {how_to_obtain}') from error
        if not tensors:
            raise TokenizerWeightsError(f'the pickled {pickled_root_class} in {path} holds no tensors. {how_to_obtain}')
        return tensors
    try:
        return weights_of(loaded, path, container_keys)
    except CheckpointReadError as error:
        reason = str(error).split('holds no weights: ', 1)[-1]
        raise TokenizerWeightsError(
            f'{path} is not a {tokenizer_name} weights file: {reason} {how_to_obtain}'
        ) from error
