from .checkpoint_io import (CheckpointMismatchError, CheckpointReadError, install as install_checkpoint_io,
                            load_checkpoint_file)
from .hooks import RandomStateHook, StopOnNonFiniteHook
from .optimizers import BFloat16AutocastOptimWrapper, LayerDecayOptimWrapperConstructor
from .resume import find_resume_checkpoint, remove_partial_checkpoint_writes

install_checkpoint_io()

__all__ = [
    'BFloat16AutocastOptimWrapper', 'CheckpointMismatchError', 'CheckpointReadError',
    'LayerDecayOptimWrapperConstructor', 'RandomStateHook', 'StopOnNonFiniteHook', 'find_resume_checkpoint',
    'install_checkpoint_io', 'load_checkpoint_file', 'remove_partial_checkpoint_writes'
]
