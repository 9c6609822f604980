"""mmpretrain ``ImageClassifier`` heads for the pretrained encoder: linear probe, attentive probe, fine-tuning."""

from .attentive_probe_head import AttentiveProbeHead
from .classification_head import ClassificationHead
from .fine_tuning_head import FineTuningHead
from .linear_probe_head import LinearProbeHead

__all__ = ['AttentiveProbeHead', 'ClassificationHead', 'FineTuningHead', 'LinearProbeHead']
