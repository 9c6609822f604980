"""Evaluation helpers for encoders: feature rank, tokens, k-NN."""

from .feature_rank import effective_rank
from .features import encoder_tokens
from .knn import knn_accuracy

__all__ = ['effective_rank', 'encoder_tokens', 'knn_accuracy']
