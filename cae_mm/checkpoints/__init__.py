"""Checkpoint reading, writing, matching and resuming, in runners and a hook configs opt into (mmengine unpatched)."""

from .checkpoint_hook import CheckpointHook
from .errors import (
    CheckpointConversionError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointReadError,
    CheckpointWriteError,
    TokenizerWeightsError,
)
from .matching import compare_keys, require_exact_match, require_optimizer_match, require_overlap
from .pretrained import load_pretrained_weights
from .reading import read_checkpoint, weights_of
from .resume import find_resume_checkpoint, remove_partial_checkpoint_writes
from .runner import FlexibleRunner, Runner
from .writing import atomic_open, atomic_path, atomic_save, check_output_path

__all__ = [
    'CheckpointConversionError',
    'CheckpointError',
    'CheckpointHook',
    'CheckpointMismatchError',
    'CheckpointReadError',
    'CheckpointWriteError',
    'FlexibleRunner',
    'Runner',
    'TokenizerWeightsError',
    'atomic_open',
    'atomic_path',
    'atomic_save',
    'check_output_path',
    'compare_keys',
    'find_resume_checkpoint',
    'load_pretrained_weights',
    'read_checkpoint',
    'remove_partial_checkpoint_writes',
    'require_exact_match',
    'require_optimizer_match',
    'require_overlap',
    'weights_of',
]
