"""The linear probe: a frozen encoder's normalised cls token, BatchNorm without affine, one Linear layer."""

from typing import Sequence

import torch
from torch import nn

from cae_mm.registry import MODELS
from .classification_head import ClassificationHead


@MODELS.register_module()
class LinearProbeHead(ClassificationHead):
    """``BatchNorm1d(affine=False) -> Linear`` on the cls token ``(B, C)`` (backbone ``out_type='cls_token'``; another
    shape is a ``ValueError``); in eval the BatchNorm uses its running statistics.

    Args:
        num_classes: classes ``K``.
        in_channels: feature channels ``C`` (the encoder width).
        init_std: std of the truncated-normal Linear weight (the bias starts at 0).
        **kwargs: ``loss``, ``topk``, ``cal_acc`` and ``init_cfg`` of :class:`ClassificationHead`.
    """

    trains_batch_norm = True

    def __init__(self, num_classes: int, in_channels: int, init_std: float = 0.01, **kwargs) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.norm = nn.BatchNorm1d(in_channels, affine=False, eps=1e-6)
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.norm(self.last_feature(feats, 2, 'features (B, C)', 'cls_token'))
