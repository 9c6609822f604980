"""Multi-head self- and cross-attention with BEiT/CAE q/v biases; self-attention optionally in windows (ViTDet)."""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, N, C) -> (B, heads, N, C / heads)."""
    batch, tokens, channels = x.shape
    return x.reshape(batch, tokens, num_heads, channels // num_heads).transpose(1, 2)


def _padded_grid(grid_size: tuple[int, int], window_size: int) -> tuple[int, int]:
    rows, cols = grid_size
    return -(-rows // window_size) * window_size, -(-cols // window_size) * window_size


def grid_to_windows(patches: torch.Tensor, grid_size: tuple[int, int], window_size: int) -> torch.Tensor:
    """Row-major patch tokens ``patches`` ``(B, h * w, C)`` of ``grid_size`` ``(h, w)`` cut into ``s x s`` windows
    (``s = window_size``), the grid zero-padded at its bottom/right edge: ``(B * n_windows, s * s, C)``, windows
    row-major within each image, images one after another."""
    batch, _, channels = patches.shape
    rows, cols = grid_size
    padded_rows, padded_cols = _padded_grid(grid_size, window_size)
    grid = F.pad(patches.reshape(batch, rows, cols, channels), (0, 0, 0, padded_cols - cols, 0, padded_rows - rows))
    grid = grid.reshape(
        batch, padded_rows // window_size, window_size, padded_cols // window_size, window_size, channels
    )  # (B, R, s, W, s, C)
    return grid.transpose(2, 3).reshape(-1, window_size * window_size, channels)  # (B*R*W, s*s, C)


def windows_to_grid(windows: torch.Tensor, grid_size: tuple[int, int], window_size: int) -> torch.Tensor:
    """Inverse of :func:`grid_to_windows` (same arguments): ``(B, h * w, C)``, padding removed."""
    rows, cols = grid_size
    padded_rows, padded_cols = _padded_grid(grid_size, window_size)
    window_rows, window_cols = padded_rows // window_size, padded_cols // window_size
    channels = windows.shape[-1]
    grid = windows.reshape(-1, window_rows, window_cols, window_size, window_size, channels)  # (B, R, W, s, s, C)
    grid = grid.transpose(2, 3).reshape(-1, padded_rows, padded_cols, channels)[:, :rows, :cols]  # (B, h, w, C)
    return grid.reshape(-1, rows * cols, channels)


def _softmax_weights(query: torch.Tensor, key: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """fp32 ``softmax(q kᵀ / sqrt(d) + mask)``, ``(B, heads, Nq, Nk)``; ``mask`` as in SDPA's ``attn_mask``."""
    logits = (query * query.shape[-1] ** -0.5) @ key.transpose(-2, -1)  # (B, heads, Nq, Nk)
    if mask is not None and mask.dtype == torch.bool:
        logits = logits.masked_fill(~mask, float('-inf'))
    elif mask is not None:
        logits = logits + mask.to(logits.dtype)
    return logits.softmax(dim=-1, dtype=torch.float32)


def _explicit_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: Optional[torch.Tensor], dropout: float
) -> torch.Tensor:
    """``F.scaled_dot_product_attention`` from matrix products, softmax in fp32: ``(B, heads, Nq, d)``."""
    weights = F.dropout(_softmax_weights(query, key, mask).to(value.dtype), dropout)
    return weights @ value  # (B, heads, Nq, d)


class _MultiHeadAttention(nn.Module):
    """Shared by self- and cross-attention: bias-free ``input_projections`` (name: width over ``C``, registered in
    order), q/v biases, softmax attention, output projection."""

    input_projections: dict[str, int]

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        qv_bias: bool = True,
        attention_dropout: float = 0.0,
        projection_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        for name, width in self.input_projections.items():
            self.add_module(name, nn.Linear(embed_dims, width * embed_dims, bias=False))
        self.q_bias = nn.Parameter(torch.zeros(embed_dims)) if qv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(embed_dims)) if qv_bias else None
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(projection_dropout)

    def _attend(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """``(B, Nq, C)`` queries over ``(B, Nk, C)`` keys/values -> ``(B, Nq, C)``; ``mask`` (bool, True = attend, or
        additive) broadcasts to ``(B, heads, Nq, Nk)``. Matrix products when training in bf16/fp16 on a CPU, where the
        fused kernel's backward is slow."""
        query, key, value = (_split_heads(tensor, self.num_heads) for tensor in (query, key, value))
        dropout = self.attention_dropout if self.training else 0.0
        if query.device.type == 'cpu' and query.dtype in (torch.bfloat16, torch.float16) and torch.is_grad_enabled():
            attended = _explicit_attention(query, key, value, mask, dropout)
        else:
            attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout)
        return attended.transpose(1, 2).flatten(2)  # (B, Nq, C)


class SelfAttention(_MultiHeadAttention):
    """Multi-head self-attention; keys have no bias (BEiT's ``qv_bias``).

    With ``window_size > 0`` each patch attends to its ``s x s`` window and the cls token, the cls token to every
    token. Same parameters either way, so global-attention checkpoints load unchanged.

    Args:
        embed_dims: channels ``C``.
        num_heads: heads; must divide ``C``.
        qv_bias: learn biases for queries and values.
        attention_dropout: dropout on the attention weights (training only).
        projection_dropout: dropout after the output projection.
        window_size: window side in patches; 0 means global attention.
    """

    input_projections = {'qkv': 3}

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        qv_bias: bool = True,
        attention_dropout: float = 0.0,
        projection_dropout: float = 0.0,
        window_size: int = 0,
    ) -> None:
        super().__init__(embed_dims, num_heads, qv_bias, attention_dropout, projection_dropout)
        if window_size < 0:
            raise ValueError(f'window_size must be >= 0 (0: global attention), got {window_size}')
        self.window_size = window_size

    def qkv_bias(self) -> Optional[torch.Tensor]:
        """The packed ``[q_bias, 0, v_bias]`` bias of ``self.qkv``, shape ``(3C,)``, or None."""
        if self.q_bias is None:
            return None
        return torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])

    def attention_weights(self, x: torch.Tensor, attention_bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Softmax weights ``(B, heads, N, N)`` of global attention over tokens ``x`` ``(B, N, C)``, with an optional
        ``attention_bias`` ``(heads, N, N)`` added to the logits; row ``i`` sums to 1. For inspection: :meth:`forward`
        never forms them.

        Raises:
            ValueError: if the layer attends within windows.
        """
        if self.window_size > 0:
            raise ValueError('attention_weights covers global attention only; this layer attends within windows')
        query, key, _ = F.linear(x, self.qkv.weight, self.qkv_bias()).chunk(3, dim=-1)  # 3 x (B, N, C)
        query, key = _split_heads(query, self.num_heads), _split_heads(key, self.num_heads)  # (B, heads, N, C/heads)
        return _softmax_weights(query, key, attention_bias).to(query.dtype)  # (B, heads, N, N)

    def forward(
        self,
        x: torch.Tensor,
        grid_size: Optional[tuple[int, int]] = None,
        attention_bias: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Self-attention, global or within windows: ``(B, N, C) -> (B, N, C)``.

        Args:
            x: tokens ``(B, N, C)``; with windows ``N = 1 + h * w`` (cls first, patches row-major).
            grid_size: the patch grid ``(h, w)``; needed only with windows.
            attention_bias: optional ``(heads, N, N)`` added to the logits (relative position bias); global only.
        """
        query, key, value = F.linear(x, self.qkv.weight, self.qkv_bias()).chunk(3, dim=-1)  # 3 x (B, N, C)
        if self.window_size > 0:
            if attention_bias is not None:
                raise ValueError('an attention bias (relative position bias) needs global attention, not windows')
            attended = self._windowed_attention(query, key, value, grid_size)
        elif attention_bias is not None:
            attended = self._attend(query, key, value, attention_bias.to(query.dtype))  # bias broadcast over B
        else:
            attended = self._attend(query, key, value)
        return self.proj_drop(self.proj(attended))

    def _windowed_attention(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, grid_size: Optional[tuple[int, int]]
    ) -> torch.Tensor:
        """Window attention for the patches (padding never attended), global for cls; inputs ``(B, 1 + h * w, C)``."""
        if grid_size is None:
            raise ValueError('window attention needs the patch grid size: call with grid_size=(h, w)')
        rows, cols = grid_size
        if query.shape[1] != 1 + rows * cols:
            raise ValueError(
                f'window attention expects cls + {rows}x{cols} patches = {1 + rows * cols} tokens, got {query.shape[1]}'
            )
        batch = query.shape[0]
        cls_attended = self._attend(query[:, :1], key, value)  # (B, 1, C)

        size = self.window_size
        window_query = grid_to_windows(query[:, 1:], grid_size, size)  # (B*nW, s*s, C)
        windows_per_image = window_query.shape[0] // batch

        def with_cls(tokens: torch.Tensor) -> torch.Tensor:
            # Every window also sees the cls token, as every patch did in pretraining.
            cls = tokens[:, :1].repeat_interleave(windows_per_image, dim=0)  # (B*nW, 1, C)
            return torch.cat([cls, grid_to_windows(tokens[:, 1:], grid_size, size)], dim=1)  # (B*nW, 1 + s*s, C)

        key_allowed = None
        if _padded_grid(grid_size, size) != (rows, cols):
            real_patch = grid_to_windows(query.new_ones(1, rows * cols, 1), grid_size, size)[..., 0] > 0  # (nW, s*s)
            key_allowed = F.pad(real_patch, (1, 0), value=True).repeat(batch, 1)[:, None, None, :]  # (B*nW,1,1,1+s*s)
        window_attended = self._attend(window_query, with_cls(key), with_cls(value), key_allowed)  # (B*nW, s*s, C)
        return torch.cat([cls_attended, windows_to_grid(window_attended, grid_size, size)], dim=1)  # (B, 1+h*w, C)


class CrossAttention(_MultiHeadAttention):
    """Multi-head cross-attention with separate query/key/value projections (CAE's regressor).

    Args: those of :class:`SelfAttention`, without ``window_size``.
    """

    input_projections = {'q': 1, 'k': 1, 'v': 1}

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Each ``query`` ``(B, Nq, C)`` attends to all of ``key`` and ``value`` ``(B, Nk, C)``: ``(B, Nq, C)``."""
        query = F.linear(query, self.q.weight, self.q_bias)  # (B, Nq, C)
        key = F.linear(key, self.k.weight)  # (B, Nk, C)
        value = F.linear(value, self.v.weight, self.v_bias)  # (B, Nk, C)
        return self.proj_drop(self.proj(self._attend(query, key, value)))
