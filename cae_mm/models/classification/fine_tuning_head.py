"""The fine-tuning classifier of BEiT/CAE: LayerNorm on the mean-pooled patch tokens, then a Linear layer."""

from typing import Sequence

import torch
from torch import nn

from cae_mm.registry import MODELS
from .classification_head import ClassificationHead


@MODELS.register_module()
class FineTuningHead(ClassificationHead):
    """``LayerNorm -> Linear`` on ``CAEVisionTransformer(out_type='avg_featmap', final_norm=False)`` features
    ``(B, C)``; another shape is a ``ValueError``.

    Args:
        num_classes: classes ``K``.
        in_channels: feature channels ``C``.
        norm_eps: LayerNorm epsilon.
        init_scale: factor on the initial truncated-normal (std 0.02) Linear weight.
        **kwargs: ``loss`` (default: label smoothing 0.1), ``topk``, ``cal_acc``, ``init_cfg`` of the base class.
    """

    default_loss = dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')

    def __init__(
        self, num_classes: int, in_channels: int, norm_eps: float = 1e-6, init_scale: float = 0.001, **kwargs
    ) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.norm = nn.LayerNorm(in_channels, eps=norm_eps)
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        nn.init.zeros_(self.fc.bias)
        with torch.no_grad():
            self.fc.weight.mul_(init_scale)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.norm(self.last_feature(feats, 2, 'pooled features (B, C)', 'avg_featmap'))
