"""The base of cae_mm's classification heads."""

from typing import Optional, Sequence

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from .classification_labels import check_labels


class ClassificationHead(ClsHead):
    """``logits = fc(pre_logits(feats))`` with label checks; subclasses build ``fc`` and define ``pre_logits``.

    Args:
        num_classes: classes ``K``.
        in_channels: feature channels ``C``.
        loss: mmpretrain loss config; None takes the head's ``default_loss``.
        topk: top-k accuracies reported by ``loss`` when ``cal_acc``.
        cal_acc: report training accuracy.
        init_cfg: mmengine initialisation config.

    Raises:
        ValueError: ``num_classes`` is not positive.
    """

    #: True for heads that train a BatchNorm (it needs 2 or more samples per batch).
    trains_batch_norm: bool = False
    default_loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0)
    fc: nn.Linear

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss: Optional[dict] = None,
        topk: Sequence[int] = (1,),
        cal_acc: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(loss=loss or dict(self.default_loss), topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels

    def last_feature(self, feats: Sequence[torch.Tensor], ndim: int, shape: str, out_type: str) -> torch.Tensor:
        """The last backbone output, required to have ``ndim`` dimensions and ``C`` channels last.

        Args:
            feats: backbone outputs.
            ndim: 2 for ``(B, C)`` features, 3 for ``(B, N, C)`` tokens.
            shape: the expected shape in words, for the message.
            out_type: the backbone ``out_type`` that gives this shape, for the message.

        Raises:
            ValueError: another shape; the message names the backbone ``out_type`` to set.
        """
        features = feats[-1]
        if features.ndim != ndim or features.shape[-1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects {shape} with C={self.in_channels}, got '
                f"{tuple(features.shape)}; set the backbone's out_type={out_type!r}"
            )
        return features

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Class logits ``(B, K)`` from the backbone outputs (the last is used)."""
        return self.fc(self.pre_logits(feats))

    def loss(self, feats: Sequence[torch.Tensor], data_samples: list, **kwargs) -> dict:
        """mmpretrain's ``ClsHead.loss`` after the label and batch checks.

        Raises:
            ValueError: a label outside the head's classes; a batch of one sample for a head that trains a BatchNorm.
        """
        if self.trains_batch_norm and len(data_samples) < 2:
            raise ValueError(
                f'{type(self).__name__} trains a BatchNorm, which needs at least 2 samples per batch on each process; '
                f'this batch has {len(data_samples)}: set train_dataloader.batch_size >= 2 and keep '
                'train_dataloader.drop_last=True (the probe configs set it) so that the last, incomplete batch of an '
                'epoch is dropped'
            )
        check_labels(data_samples, self.num_classes)
        return super().loss(feats, data_samples, **kwargs)

    def predict(self, feats: Sequence[torch.Tensor], data_samples: Optional[list] = None) -> list:
        """Predictions (``pred_score``, ``pred_label``); given labels outside the head's classes are an error."""
        check_labels(data_samples, self.num_classes)
        return super().predict(feats, data_samples)
