"""The attentive probe: one learned query cross-attends to all tokens of a frozen encoder, then a linear classifier."""

from typing import Sequence

import torch
from torch import nn

from cae_mm.registry import MODELS
from ..layers import CrossAttention
from .classification_head import ClassificationHead


@MODELS.register_module()
class AttentiveProbeHead(ClassificationHead):
    """``CrossAttn(LN(query), LN(tokens), LN(tokens))`` -> ``BatchNorm1d(affine=False)`` -> ``Linear`` on the last
    output's tokens ``(B, N, C)`` (backbone ``out_type='raw'``; another shape is a ``ValueError``).

    Args:
        num_classes: classes ``K``.
        in_channels: token channels ``C`` (the encoder width).
        num_heads: attention heads; must divide ``C``.
        norm_eps: epsilon of the query/key/value LayerNorms.
        init_std: std of the truncated-normal classifier weight (the bias starts at 0).
        **kwargs: ``loss``, ``topk``, ``cal_acc`` and ``init_cfg`` of :class:`ClassificationHead`.
    """

    trains_batch_norm = True

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        num_heads: int,
        norm_eps: float = 1e-6,
        init_std: float = 0.01,
        **kwargs,
    ) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.query_token = nn.Parameter(torch.zeros(1, 1, in_channels))
        self.norm_query = nn.LayerNorm(in_channels, eps=norm_eps)
        self.norm_key = nn.LayerNorm(in_channels, eps=norm_eps)
        self.norm_value = nn.LayerNorm(in_channels, eps=norm_eps)
        self.cross_attention = CrossAttention(in_channels, num_heads, qv_bias=True)
        self.norm = nn.BatchNorm1d(in_channels, affine=False)
        self.fc = nn.Linear(in_channels, num_classes)
        attention = self.cross_attention
        for linear in (attention.q, attention.k, attention.v, attention.proj):
            nn.init.trunc_normal_(linear.weight, std=0.02)
        nn.init.zeros_(attention.proj.bias)
        nn.init.trunc_normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        tokens = self.last_feature(feats, 3, 'tokens (B, N, C)', 'raw')
        query = self.query_token.expand(tokens.shape[0], -1, -1)  # (B, 1, C)
        pooled = self.cross_attention(self.norm_query(query), self.norm_key(tokens), self.norm_value(tokens))
        return self.norm(pooled[:, 0])  # (B, C)

    def no_weight_decay(self) -> set[str]:
        """The query token gets no weight decay."""
        return {'query_token'}
