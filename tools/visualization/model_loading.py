"""Build a model, or its encoder alone, from a config and load a checkpoint into it with every key checked."""

from pathlib import Path
from typing import Union

from mmengine.config import Config
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import init_default_scope
from torch import nn

from cae_mm.checkpoints import load_pretrained_weights, read_checkpoint, require_exact_match, weights_of
from cae_mm.registry import MODELS


def load_config(path: Union[str, Path]) -> Config:
    """Read a config and make its host library (``default_scope``, mmpretrain by default) the registry scope."""
    cfg = Config.fromfile(str(path))
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return cfg


def build_data_preprocessor(cfg: Config) -> BaseDataPreprocessor:
    """The model's data preprocessor (normalisation and channel order), as the Runner builds it."""
    return MODELS.build(cfg.model.data_preprocessor)


def build_model(cfg: Config, checkpoint: Union[str, Path], device: str = 'cpu') -> nn.Module:
    """The config's whole model with a checkpoint's weights, in eval mode.

    Args:
        cfg: a config from :func:`load_config`.
        checkpoint: a checkpoint of this model (a training checkpoint or a published full one).
        device: where to put the model.

    Raises:
        CheckpointReadError: unreadable, or no weights in the file.
        CheckpointMismatchError: missing, unexpected or mis-shaped keys, listed.
    """
    model = MODELS.build(cfg.model)
    weights = weights_of(read_checkpoint(checkpoint), checkpoint)
    if getattr(model, 'target_encoder', None) is not None:  # a training-only moving average; releases drop it
        model.target_encoder = None
        weights = {key: value for key, value in weights.items() if not key.startswith('target_encoder.')}
    require_exact_match(
        weights,
        model.state_dict(),
        checkpoint,
        'the model of the config',
        hint='a backbone-only checkpoint has no regressor or decoder: publish the full model',
    )
    model.load_state_dict(weights, strict=True)
    return model.to(device).eval()


def build_backbone(cfg: Config, checkpoint: Union[str, Path], device: str = 'cpu') -> nn.Module:
    """The config's encoder alone with a checkpoint's weights, in eval mode (no tokenizer or heads are built).

    Args:
        cfg: a config from :func:`load_config`.
        checkpoint: a full model checkpoint (keys ``backbone.*`` are taken) or a backbone-only one.
        device: where to put the encoder.

    Raises:
        CheckpointReadError: unreadable, or no weights in the file.
        CheckpointMismatchError: missing, unexpected or mis-shaped encoder keys, listed.
    """
    backbone = MODELS.build(cfg.model.backbone)
    load_pretrained_weights(backbone, str(checkpoint), prefix='backbone.')
    return backbone.to(device).eval()
