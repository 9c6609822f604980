"""The fine-tuning classifier of BEiT/CAE: LayerNorm on the mean-pooled patch tokens, then a Linear layer."""

from typing import Sequence

import torch
from torch import nn

from cae_mm.registry import MODELS
from .classification_head import ClassificationHead


@MODELS.register_module()
class FineTuningHead(ClassificationHead):
    """``LayerNorm -> Linear`` on pooled features, the Linear weight started tiny (truncated normal .02 × 0.001).

    Use it with ``CAEVisionTransformer(out_type='avg_featmap', final_norm=False)``: the official fine-tuning model
    replaces the encoder's final norm by this norm after mean pooling.

    Args:
        num_classes: classes ``K``.
        in_channels: feature channels ``C``.
        norm_eps: LayerNorm epsilon.
        init_scale: factor on the initial Linear weight and bias.
        **kwargs: ``loss`` (default: label smoothing 0.1, the official recipe), ``topk``, ``cal_acc`` (meaningless
            with Mixup/CutMix) and ``init_cfg`` of :class:`ClassificationHead`.
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
        """Normalise the last pooled feature, ``(B, C) -> (B, C)``.

        Raises:
            ValueError: the feature is not ``(B, C)`` (use the backbone's ``out_type='avg_featmap'``).
        """
        return self.norm(self.last_feature(feats, 2, 'pooled features (B, C)', 'avg_featmap'))
