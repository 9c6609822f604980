"""Effective rank of a set of features (RankMe; Garrido et al., 2023): a collapse diagnostic without labels."""

import torch


def effective_rank(features: torch.Tensor, eps: float = 1e-7) -> float:
    """``exp`` of the entropy of the normalised singular values of a feature matrix.

    A matrix whose rows span ``k`` equally strong directions scores ``k``; features that collapsed onto one direction
    score about 1; the score is at most ``min(N, C)``. The rows are not centred (as RankMe), so a shared offset counts
    as one direction.

    Args:
        features: ``(N, C)`` one feature vector per row, or ``(..., C)`` (leading dimensions are flattened: e.g. the
            patch tokens ``(B, L, C)`` of a batch).
        eps: added to the normalised singular values before the logarithm.

    Returns:
        The effective rank, a float in ``[1, min(N, C)]``.
    """
    matrix = features.detach().reshape(-1, features.shape[-1]).double()  # (N, C)
    singular_values = torch.linalg.svdvals(matrix)  # (min(N, C),)
    total = singular_values.sum()
    if total <= 0:
        return 1.0
    distribution = singular_values / total + eps
    return float(torch.exp(-(distribution * distribution.log()).sum()))
