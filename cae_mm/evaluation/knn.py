"""Weighted k-nearest-neighbour classification of frozen features (DINO's protocol): no training, no labels used
by the encoder."""

import torch
import torch.nn.functional as F


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Top-1 accuracy (%) of a cosine-similarity k-NN classifier with temperature-weighted votes.

    Each test feature votes among its ``k`` most cosine-similar training features; a neighbour with similarity ``s``
    adds ``exp(s / temperature)`` to its class (Wu et al. 2018, as used by DINO).

    Args:
        train_features: ``(N_train, C)``.
        train_labels: ``(N_train,)`` integer classes.
        test_features: ``(N_test, C)``.
        test_labels: ``(N_test,)`` integer classes.
        k: neighbours per test feature (at most ``N_train``).
        temperature: softness of the votes.

    Returns:
        The percentage of test features whose highest-voted class is their label.
    """
    if k < 1 or k > len(train_features):
        raise ValueError(f'k must be in [1, {len(train_features)}], got {k}')
    train = F.normalize(train_features.double(), dim=1)  # (N_train, C)
    test = F.normalize(test_features.double(), dim=1)  # (N_test, C)
    similarity, index = (test @ train.T).topk(k, dim=1)  # (N_test, k) each
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    votes = torch.zeros(len(test), num_classes, dtype=torch.float64)  # (N_test, classes)
    votes.scatter_add_(1, train_labels[index], (similarity / temperature).exp())
    return float((votes.argmax(dim=1) == test_labels).double().mean() * 100)
