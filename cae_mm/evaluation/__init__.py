"""Label-free and label-based evaluation helpers for encoders (feature rank, k-NN)."""
from .feature_rank import effective_rank

__all__ = ['effective_rank']
