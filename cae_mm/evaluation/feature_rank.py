"""Effective rank of a set of features (RankMe; Garrido et al., 2023): a collapse diagnostic without labels."""

import torch


def effective_rank(features: torch.Tensor, eps: float = 1e-7) -> float:
    """Effective rank in ``[1, min(N, C)]`` of ``features`` ``(N, C)`` (or ``(..., C)``, leading dims flattened):
    ``exp`` of the entropy of the normalised singular values, rows uncentred, ``eps`` added before the logarithm."""
    matrix = features.detach().reshape(-1, features.shape[-1]).double()  # (N, C)
    singular_values = torch.linalg.svdvals(matrix)  # (min(N, C),)
    total = singular_values.sum()
    if total <= 0:
        return 1.0
    distribution = singular_values / total + eps
    return float(torch.exp(-(distribution * distribution.log()).sum()))
