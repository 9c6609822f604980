"""Label checks of the classification heads: a class-count mismatch is an error, not a wrong accuracy."""

from typing import Optional, Sequence

import torch


def check_labels(data_samples: Optional[Sequence], num_classes: int) -> None:
    """Require every ``gt_label`` of ``data_samples`` to be in ``[0, num_classes)`` and every ``gt_score`` to be
    ``(num_classes,)``; samples with neither are skipped.

    Raises:
        ValueError: a label outside ``[0, num_classes)`` or soft targets of another width.
    """
    if not data_samples:
        return
    scores = [sample.gt_score for sample in data_samples if sample is not None and 'gt_score' in sample]
    if scores and any(score.shape[-1] != num_classes for score in scores):
        widths = sorted({score.shape[-1] for score in scores})
        raise ValueError(
            f'soft targets cover {widths} classes but the head has {num_classes}: set the data '
            "preprocessor num_classes and model.head.num_classes to the dataset's class count"
        )
    labels = [sample.gt_label for sample in data_samples if sample is not None and 'gt_label' in sample]
    if not labels:
        return
    labels = torch.cat([label.reshape(-1) for label in labels])
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"label {int(labels.max())} (min {int(labels.min())}) is outside the head's "
            f'{num_classes} classes: the dataset has more classes than model.head.num_classes'
        )
