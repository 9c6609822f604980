"""Weighted k-nearest-neighbour classification of frozen features (DINO's protocol)."""

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
    """Top-1 accuracy in % of cosine k-NN: each of a test feature's ``k`` most similar training features adds
    ``exp(similarity / temperature)`` to its class's vote (Wu et al. 2018, as used by DINO).

    Args:
        train_features: ``(N_train, C)``.
        train_labels: ``(N_train,)`` integer classes.
        test_features: ``(N_test, C)``.
        test_labels: ``(N_test,)`` integer classes.
        k: neighbours per test feature, in ``[1, N_train]`` (else ``ValueError``).
        temperature: softness of the votes.
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
