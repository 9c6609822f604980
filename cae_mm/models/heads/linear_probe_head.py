"""The linear probe: a frozen encoder's normalised cls token, BatchNorm without affine, one Linear layer."""
from typing import Optional, Sequence

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from cae_mm.registry import MODELS
from .batch_norm_batch import check_batch_norm_batch
from .classification_labels import check_labels


@MODELS.register_module()
class LinearProbeHead(ClsHead):
    """``BatchNorm1d(affine=False, eps=1e-6) -> Linear`` on the cls token (MAE/CAE linear probing).

    The BatchNorm only rescales the frozen features (it has no parameters); in evaluation it uses its running
    statistics, so a prediction does not depend on the rest of the batch.

    Args:
        num_classes: classes ``K``.
        in_channels: feature channels ``C`` (the encoder width).
        loss: mmpretrain loss config (default: cross-entropy).
        topk: top-k accuracies reported by ``loss`` when ``cal_acc``.
        cal_acc: report training accuracy.
        init_std: standard deviation of the truncated-normal Linear weight (the bias starts at 0).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Optional[dict] = None,
                 topk: Sequence[int] = (1, ),
                 cal_acc: bool = False,
                 init_std: float = 0.01,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            loss=loss or dict(type='CrossEntropyLoss', loss_weight=1.0), topk=topk, cal_acc=cal_acc,
            init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.norm = nn.BatchNorm1d(in_channels, affine=False, eps=1e-6)
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Normalise the last feature, ``(B, C) -> (B, C)``.

        Raises:
            ValueError: the feature is not ``(B, C)`` (use the backbone's ``out_type='cls_token'``).
        """
        features = feats[-1]
        if features.ndim != 2 or features.shape[1] != self.in_channels:
            raise ValueError(f'LinearProbeHead expects ({self.in_channels},)-wide features (B, C), got '
                             f'{tuple(features.shape)}; set the backbone\'s out_type=\'cls_token\'')
        return self.norm(features)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Class logits ``(B, K)`` from the backbone outputs (the last is used)."""
        return self.fc(self.pre_logits(feats))

    def loss(self, feats: Sequence[torch.Tensor], data_samples: list, **kwargs) -> dict:
        """Classification loss; labels outside the head's classes and a batch of one sample are errors."""
        check_batch_norm_batch(len(data_samples), 'LinearProbeHead')
        check_labels(data_samples, self.num_classes)
        return super().loss(feats, data_samples, **kwargs)

    def predict(self, feats: Sequence[torch.Tensor], data_samples: Optional[list] = None) -> list:
        """Predictions (``pred_score``, ``pred_label``); given labels outside the head's classes are an error."""
        check_labels(data_samples, self.num_classes)
        return super().predict(feats, data_samples)
