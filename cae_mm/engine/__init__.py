from .cpu_distributed import init_cpu_process_group, use_cpu_model_wrappers
from .fsdp_strategy import FSDPStrategy, clip_sharded_grad_norm_, transformer_block_wrap_policy
from .hooks import RandomStateHook, StopOnNonFiniteHook
from .optimizers import BFloat16AutocastOptimWrapper, LayerDecayOptimWrapperConstructor

__all__ = [
    'BFloat16AutocastOptimWrapper',
    'FSDPStrategy',
    'LayerDecayOptimWrapperConstructor',
    'RandomStateHook',
    'StopOnNonFiniteHook',
    'clip_sharded_grad_norm_',
    'init_cpu_process_group',
    'transformer_block_wrap_policy',
    'use_cpu_model_wrappers',
]
