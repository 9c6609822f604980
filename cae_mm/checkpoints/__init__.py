"""Everything about checkpoint files, in one place: reading (one restricted reader for every path), writing
(atomic, with normal permissions), matching to a model, conversion between layouts (:mod:`.conversion`, imported on
use), which checkpoint ``--resume`` continues from, the work dir lock, pretrained backbone loading, and the Runner,
FlexibleRunner and CheckpointHook that configs switch on (``runner_type='cae_mm.Runner'``,
``default_hooks.checkpoint.type='cae_mm.CheckpointHook'``). Importing it changes nothing in mmengine.
"""

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
from .work_dir_lock import hold_work_dir_lock
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
    'hold_work_dir_lock',
    'load_pretrained_weights',
    'read_checkpoint',
    'remove_partial_checkpoint_writes',
    'require_exact_match',
    'require_optimizer_match',
    'require_overlap',
    'weights_of',
]
