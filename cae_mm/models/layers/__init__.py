from .attention import CrossAttention, SelfAttention
from .initialization import InitMode, cae_init_, truncated_normal_
from .position_embedding import build_2d_sincos_position_embedding
from .relative_position_bias import RelativePositionBias, relative_position_index
from .token_gather import PatchMask, as_patch_mask, gather_tokens, mask_to_indices
from .transformer_blocks import FeedForward, RegressorBlock, TransformerBlock, build_block_stack, run_block

__all__ = [
    'CrossAttention',
    'SelfAttention',
    'InitMode',
    'cae_init_',
    'truncated_normal_',
    'build_2d_sincos_position_embedding',
    'gather_tokens',
    'mask_to_indices',
    'PatchMask',
    'as_patch_mask',
    'FeedForward',
    'RegressorBlock',
    'TransformerBlock',
    'build_block_stack',
    'run_block',
    'RelativePositionBias',
    'relative_position_index',
]
