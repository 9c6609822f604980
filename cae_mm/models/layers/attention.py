"""Multi-head self- and cross-attention with BEiT/CAE q/v biases, on torch's fused attention kernel."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, N, C) -> (B, heads, N, C / heads)."""
    batch, tokens, channels = x.shape
    return x.reshape(batch, tokens, num_heads, channels // num_heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, N, C / heads) -> (B, N, C)."""
    batch, heads, tokens, head_dims = x.shape
    return x.transpose(1, 2).reshape(batch, tokens, heads * head_dims)


class SelfAttention(nn.Module):
    """Multi-head self-attention; the key projection has no bias (BEiT's ``qv_bias``).

    Args:
        embed_dims: channels ``C``.
        num_heads: heads; must divide ``C``.
        qv_bias: learn biases for queries and values (keys never get one: softmax is invariant to it).
        attention_dropout: dropout on the attention weights (training only).
        projection_dropout: dropout after the output projection.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qv_bias: bool = True,
                 attention_dropout: float = 0.0,
                 projection_dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(embed_dims)) if qv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(embed_dims)) if qv_bias else None
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(projection_dropout)

    def qkv_bias(self) -> Optional[torch.Tensor]:
        """The packed ``[q_bias, 0, v_bias]`` bias of ``self.qkv``, shape ``(3C,)``, or None."""
        if self.q_bias is None:
            return None
        return torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend every token to every token.

        Args:
            x: tokens ``(B, N, C)``.

        Returns:
            ``(B, N, C)``.
        """
        query, key, value = F.linear(x, self.qkv.weight, self.qkv_bias()).chunk(3, dim=-1)  # 3 x (B, N, C)
        attended = F.scaled_dot_product_attention(
            _split_heads(query, self.num_heads), _split_heads(key, self.num_heads),
            _split_heads(value, self.num_heads),
            dropout_p=self.attention_dropout if self.training else 0.0)  # (B, heads, N, C / heads)
        return self.proj_drop(self.proj(_merge_heads(attended)))


class CrossAttention(nn.Module):
    """Multi-head cross-attention with separate query/key/value projections (CAE's regressor).

    Args:
        embed_dims: channels ``C`` of queries, keys and values.
        num_heads: heads; must divide ``C``.
        qv_bias: learn biases for queries and values.
        attention_dropout: dropout on the attention weights (training only).
        projection_dropout: dropout after the output projection.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qv_bias: bool = True,
                 attention_dropout: float = 0.0,
                 projection_dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.q = nn.Linear(embed_dims, embed_dims, bias=False)
        self.k = nn.Linear(embed_dims, embed_dims, bias=False)
        self.v = nn.Linear(embed_dims, embed_dims, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(embed_dims)) if qv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(embed_dims)) if qv_bias else None
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(projection_dropout)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Attend each query to all keys.

        Args:
            query: ``(B, Nq, C)``.
            key: ``(B, Nk, C)``.
            value: ``(B, Nk, C)``.

        Returns:
            ``(B, Nq, C)``.
        """
        query = F.linear(query, self.q.weight, self.q_bias)  # (B, Nq, C)
        key = F.linear(key, self.k.weight)  # (B, Nk, C)
        value = F.linear(value, self.v.weight, self.v_bias)  # (B, Nk, C)
        attended = F.scaled_dot_product_attention(
            _split_heads(query, self.num_heads), _split_heads(key, self.num_heads),
            _split_heads(value, self.num_heads),
            dropout_p=self.attention_dropout if self.training else 0.0)  # (B, heads, Nq, C / heads)
        return self.proj_drop(self.proj(_merge_heads(attended)))
