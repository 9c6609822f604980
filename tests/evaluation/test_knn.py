"""knn_accuracy: exact answers on hand-made neighbourhoods."""

import pytest
import torch

from cae_mm.evaluation import knn_accuracy


def test_separated_clusters_are_classified_perfectly_and_swapped_labels_fail():
    generator = torch.Generator().manual_seed(0)
    centres = torch.eye(3, 8) * 10  # (3, 8): three orthogonal directions
    train = centres.repeat_interleave(30, 0) + torch.randn(90, 8, generator=generator)
    labels = torch.arange(3).repeat_interleave(30)
    test = centres.repeat_interleave(5, 0) + torch.randn(15, 8, generator=generator)
    test_labels = torch.arange(3).repeat_interleave(5)
    assert knn_accuracy(train, labels, test, test_labels, k=20) == 100.0
    assert knn_accuracy(train, labels, test, (test_labels + 1) % 3, k=20) == 0.0


def test_votes_are_weighted_by_similarity():
    """One very close neighbour of class 1 outvotes two far ones of class 0 at a low temperature, not at a high one."""
    train = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8]])  # cosine to the query: 1.0, 0.6, 0.6
    labels = torch.tensor([1, 0, 0])
    query, query_label = torch.tensor([[1.0, 0.0]]), torch.tensor([1])
    assert knn_accuracy(train, labels, query, query_label, k=3, temperature=0.07) == 100.0
    assert knn_accuracy(train, labels, query, query_label, k=3, temperature=100.0) == 0.0


def test_k_out_of_range_is_refused():
    with pytest.raises(ValueError, match='k must be'):
        knn_accuracy(
            torch.ones(3, 2), torch.zeros(3, dtype=torch.long), torch.ones(1, 2), torch.zeros(1, dtype=torch.long), k=4
        )
