from .attentive_probe_head import AttentiveProbeHead
from .cae_decoder_head import CAEDecoderHead
from .fine_tuning_head import FineTuningHead
from .linear_probe_head import LinearProbeHead

__all__ = ['AttentiveProbeHead', 'CAEDecoderHead', 'FineTuningHead', 'LinearProbeHead']
