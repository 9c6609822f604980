from .checkpoint_io import (CheckpointMismatchError, CheckpointReadError, install as install_checkpoint_io,
                            load_checkpoint_file)
from .cpu_distributed import init_cpu_process_group, use_cpu_model_wrappers
from .fsdp_strategy import FSDPStrategy, clip_sharded_grad_norm_, transformer_block_wrap_policy
from .hooks import RandomStateHook, StopOnNonFiniteHook
from .optimizers import BFloat16AutocastOptimWrapper, LayerDecayOptimWrapperConstructor
from .resume import find_resume_checkpoint, remove_partial_checkpoint_writes

install_checkpoint_io()

__all__ = [
    'BFloat16AutocastOptimWrapper', 'CheckpointMismatchError', 'CheckpointReadError', 'FSDPStrategy',
    'LayerDecayOptimWrapperConstructor', 'RandomStateHook', 'StopOnNonFiniteHook', 'clip_sharded_grad_norm_',
    'find_resume_checkpoint', 'init_cpu_process_group', 'install_checkpoint_io', 'load_checkpoint_file',
    'remove_partial_checkpoint_writes', 'transformer_block_wrap_policy', 'use_cpu_model_wrappers'
]
