"""CAE's transformer blocks: pre-norm self-attention and the regressor's cross-attention block."""

from functools import partial
from typing import Optional, Sequence

import torch
from mmcv.cnn.bricks import DropPath
from torch import nn
from torch.utils.checkpoint import checkpoint, noop_context_fn

from .attention import CrossAttention, SelfAttention
from .saved_activation_recompute import checkpoint_contexts, recompute_when_saved


class FeedForward(nn.Module):
    """Linear -> GELU -> Linear, hidden width ``mlp_ratio * C``: ``(B, N, C) -> (B, N, C)``."""

    def __init__(self, embed_dims: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        hidden_dims = int(embed_dims * mlp_ratio)
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        # A zero-rate dropout is left out: on a GPU it would copy the activations in training mode.
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.fc1(x)  # (B, N, mlp_ratio * C)
        activated = self.act(hidden)
        with recompute_when_saved((activated, partial(self.act, hidden))):
            return self.drop(self.fc2(self.drop(activated)))


def _layer_scale(embed_dims: int, init_value: float) -> Optional[nn.Parameter]:
    """A learnable per-channel residual scale, or None when ``init_value`` is 0 (no layer scale)."""
    return nn.Parameter(init_value * torch.ones(embed_dims)) if init_value > 0 else None


def build_block_stack(
    block_type: type[nn.Module], depth: int, drop_path_rate: float, per_block_args: Sequence[dict] = (), **block_args
) -> nn.ModuleList:
    """``depth`` blocks, in order, whose stochastic depth rises linearly from 0 to ``drop_path_rate``.

    Args:
        block_type: :class:`TransformerBlock` or :class:`RegressorBlock`.
        depth: number of blocks.
        drop_path_rate: stochastic depth of the last block.
        per_block_args: optional extra arguments, one dict per block.
        **block_args: arguments every block gets.
    """
    rates = torch.linspace(0, drop_path_rate, depth).tolist()
    per_block_args = per_block_args or [{}] * depth
    return nn.ModuleList(
        block_type(drop_path=rate, **block_args, **extra) for rate, extra in zip(rates, per_block_args, strict=True)
    )


def run_block(block: nn.Module, recompute: bool, *inputs: Optional[torch.Tensor]) -> torch.Tensor:
    """``block(*inputs)``; with ``recompute``, under activation checkpointing (less memory, same results)."""
    if not recompute:
        return block(*inputs)
    # Compiled checkpoints accept only dispatch modes as contexts; compiled blocks do not recompute on their own anyway.
    contexts = noop_context_fn if torch.compiler.is_compiling() else checkpoint_contexts
    return checkpoint(block, *inputs, use_reentrant=False, context_fn=contexts)


class _ResidualBlock(nn.Module):
    """Shared by both blocks: the feed-forward branch, stochastic depth and a layer scale ``γ`` per branch."""

    def _add_feed_forward(
        self, embed_dims: int, mlp_ratio: float, drop_path: float, layer_scale: float, dropout: float, norm_eps: float
    ) -> None:
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = FeedForward(embed_dims, mlp_ratio, dropout)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.gamma_1 = _layer_scale(embed_dims, layer_scale)
        self.gamma_2 = _layer_scale(embed_dims, layer_scale)

    def _branch(self, gamma: Optional[nn.Parameter], x: torch.Tensor) -> torch.Tensor:
        return self.drop_path(x if gamma is None else gamma * x)


class TransformerBlock(_ResidualBlock):
    """Pre-norm ViT block: ``x += DP(γ1·Attn(LN(x)))``; ``x += DP(γ2·MLP(LN(x)))``.

    Args:
        embed_dims: channels ``C``.
        num_heads: attention heads.
        mlp_ratio: feed-forward hidden width over ``C``.
        qv_bias: query/value biases in attention.
        drop_path: stochastic-depth probability of this block.
        layer_scale_init_value: initial layer scale ``γ``; 0 disables layer scale.
        dropout: dropout after attention projection and in the feed-forward layer.
        attention_dropout: dropout on attention weights.
        norm_eps: LayerNorm epsilon.
        window_size: attention window side in patches (0: global); see :class:`SelfAttention`.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qv_bias: bool = True,
        drop_path: float = 0.0,
        layer_scale_init_value: float = 0.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        norm_eps: float = 1e-6,
        window_size: int = 0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = SelfAttention(embed_dims, num_heads, qv_bias, attention_dropout, dropout, window_size)
        self._add_feed_forward(embed_dims, mlp_ratio, drop_path, layer_scale_init_value, dropout, norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        grid_size: Optional[tuple[int, int]] = None,
        attention_bias: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); ``grid_size`` and ``attention_bias`` as in :meth:`SelfAttention.forward`."""
        normed = self.norm1(x)
        with recompute_when_saved((normed, partial(self.norm1, x))):
            x = x + self._branch(self.gamma_1, self.attn(normed, grid_size, attention_bias))
        normed = self.norm2(x)
        with recompute_when_saved((normed, partial(self.norm2, x))):
            return x + self._branch(self.gamma_2, self.mlp(normed))


class RegressorBlock(_ResidualBlock):
    """CAE's regressor block: the masked queries cross-attend to ``[visible latents; queries]``; only queries change.

    ``x = q + DP(γ1·CrossAttn(LN_q(q + pos_q), LN_k(kv + pos_kv), LN_v(kv)))``, ``x = LN(x)``, ``x += DP(γ2·MLP(x))``
    (values carry no position).

    Args: those of :class:`TransformerBlock`, without ``window_size``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qv_bias: bool = True,
        drop_path: float = 0.0,
        layer_scale_init_value: float = 0.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.norm1_q = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm1_k = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm1_v = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.cross_attn = CrossAttention(embed_dims, num_heads, qv_bias, attention_dropout, dropout)
        self._add_feed_forward(embed_dims, mlp_ratio, drop_path, layer_scale_init_value, dropout, norm_eps)

    def forward(
        self, queries: torch.Tensor, context: torch.Tensor, query_pos: torch.Tensor, context_pos: torch.Tensor
    ) -> torch.Tensor:
        """The updated masked-patch queries ``(B, Nm, C)``.

        Args:
            queries: ``(B, Nm, C)``.
            context: ``[visible latents; queries]``, ``(B, Nv + Nm, C)``.
            query_pos: positions of the queries, ``(B, Nm, C)``.
            context_pos: positions of ``context``, ``(B, Nv + Nm, C)``.
        """
        positioned_queries, positioned_context = queries + query_pos, context + context_pos
        normed = (self.norm1_q(positioned_queries), self.norm1_k(positioned_context), self.norm1_v(context))
        with recompute_when_saved(
            (normed[0], partial(self.norm1_q, positioned_queries)),
            (normed[1], partial(self.norm1_k, positioned_context)),
            (normed[2], partial(self.norm1_v, context)),
        ):
            attended = self.cross_attn(*normed)
        updated = queries + self._branch(self.gamma_1, attended)
        x = self.norm2(updated)
        with recompute_when_saved((x, partial(self.norm2, updated))):
            return x + self._branch(self.gamma_2, self.mlp(x))
