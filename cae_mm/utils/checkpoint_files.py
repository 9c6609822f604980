"""Reading and writing the checkpoint files that ``tools/model_converters`` convert.

Checkpoints from elsewhere are read without running their code: plain state dicts and the official CAE checkpoints
(which hold their ``argparse.Namespace``) through :func:`load_with_allowed_globals`, mmengine Runner checkpoints
(numpy arrays, log buffers) through :func:`cae_mm.engine.load_checkpoint_file`. Anything else is refused.
"""
from pathlib import Path
from typing import Any, Union

import torch
from mmengine.config import Config

from cae_mm.engine import load_checkpoint_file
from cae_mm.registry import MODELS
from .checkpoint_conversion import CheckpointConversionError, check_against_model
from .restricted_unpickling import RefusedGlobalError, load_with_allowed_globals, stand_in_for

OFFICIAL_CHECKPOINT_GLOBALS = {('argparse', 'Namespace'): stand_in_for('argparse.Namespace')}
"""The official CAE code saves its command-line ``args`` beside the weights; they are kept as an inert stand-in."""


def read_checkpoint(path: Union[str, Path]) -> Any:
    """Read a checkpoint file from the official code, mmpretrain/mmselfsup or cae_mm.

    Raises:
        CheckpointConversionError: missing, truncated or corrupt file.
        cae_mm.engine.CheckpointReadError: a file that refers to classes cae_mm does not load.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointConversionError(f'checkpoint {path} does not exist')
    try:
        return load_with_allowed_globals(path, OFFICIAL_CHECKPOINT_GLOBALS)
    except RefusedGlobalError:
        return load_checkpoint_file(path)
    except Exception as error:  # a damaged file fails anywhere in the zip reader or unpickler
        raise CheckpointConversionError(f'cannot read checkpoint {path}: the file is truncated, corrupt or not a '
                                        f'PyTorch checkpoint ({type(error).__name__}: {error})') from error


def state_dict_of(checkpoint: Any, path: Union[str, Path]) -> dict[str, torch.Tensor]:
    """The weights inside a loaded checkpoint: its ``'state_dict'`` (mmengine) or ``'model'`` (official), or itself.

    Raises:
        CheckpointConversionError: no dict of tensors found.
    """
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict) or not all(isinstance(value, torch.Tensor) for value in checkpoint.values()):
        raise CheckpointConversionError(f'{path} holds no state dict of tensors (looked at the checkpoint itself and '
                                        "its 'state_dict' and 'model' entries)")
    return dict(checkpoint)


def save_converted(state_dict: dict[str, torch.Tensor], path: Union[str, Path], source: Union[str, Path],
                   converter: str) -> None:
    """Write ``{'meta': {...}, 'state_dict': ...}``, the layout mmengine's ``load_from`` and ``Pretrained`` read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(converted_from=str(source), converter=converter)
    torch.save(dict(meta=meta, state_dict=state_dict), path)


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
