"""Heads that put the pretrained encoder into mmpretrain's ``ImageClassifier``: linear probe, attentive probe and
fine-tuning, on one :class:`ClassificationHead` base."""

from .attentive_probe_head import AttentiveProbeHead
from .classification_head import ClassificationHead
from .fine_tuning_head import FineTuningHead
from .linear_probe_head import LinearProbeHead

__all__ = ['AttentiveProbeHead', 'ClassificationHead', 'FineTuningHead', 'LinearProbeHead']
