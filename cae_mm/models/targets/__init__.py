from .dalle_tokenizer import DALLETokenizer
from .discrete_vae_tokenizer import DiscreteVAETokenizer
from .frozen_tokenizer import FrozenTokenizer
from .pixel_target import NormalizedPixelTarget, patchify
from .tokenizer_loading import TokenizerWeightsError

__all__ = [
    'DALLETokenizer',
    'DiscreteVAETokenizer',
    'FrozenTokenizer',
    'NormalizedPixelTarget',
    'TokenizerWeightsError',
    'patchify',
]
