import pytest
import torch

from cae_mm.models.layers import PatchMask, as_patch_mask, gather_tokens, mask_to_indices


def test_indices_split_the_grid_in_ascending_order():
    """Visible and masked indices are disjoint, cover every patch, ascend, and follow the mask."""
    mask = torch.zeros(3, 16, dtype=torch.bool)
    for row in range(3):
        mask[row, torch.randperm(16)[:6]] = True
    visible, masked = mask_to_indices(mask)
    assert visible.shape == (3, 10) and masked.shape == (3, 6)
    for row in range(3):
        assert torch.equal(masked[row], torch.nonzero(mask[row]).flatten())
        assert torch.equal(visible[row], torch.nonzero(~mask[row]).flatten())


@pytest.mark.parametrize(
    'counts,match', [((3, 4), 'same number'), ((0, 0), 'between 1 and'), ((8, 8), 'between 1 and')]
)
def test_bad_masks_are_rejected(counts, match):
    """Unequal counts, nothing masked and everything masked are errors that say so."""
    mask = torch.zeros(2, 8, dtype=torch.bool)
    for row, count in enumerate(counts):
        mask[row, :count] = True
    with pytest.raises(ValueError, match=match):
        mask_to_indices(mask)


def test_non_boolean_mask_is_rejected():
    """An integer mask is refused rather than silently reinterpreted."""
    with pytest.raises(ValueError, match='bool'):
        mask_to_indices(torch.ones(2, 8, dtype=torch.long))


def test_gather_broadcasts_a_shared_table():
    """A (1, L, C) table is gathered per sample."""
    table = torch.arange(10.0).reshape(1, 5, 2)
    index = torch.tensor([[0, 4], [1, 2]])
    assert torch.equal(gather_tokens(table, index), torch.tensor([[[0.0, 1.0], [8.0, 9.0]], [[2.0, 3.0], [4.0, 5.0]]]))


def test_patch_mask_lists_both_sides_and_inverts():
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[:, 1] = True
    patch_mask = PatchMask.from_mask(mask)
    assert patch_mask.grid_size == (4, 4)
    assert torch.equal(patch_mask.masked_index, torch.arange(4, 8).expand(2, -1))
    inverted = patch_mask.inverted()
    assert torch.equal(inverted.mask, ~mask)
    assert torch.equal(inverted.visible_index, patch_mask.masked_index)
    assert torch.equal(inverted.masked_index, mask_to_indices(~mask.flatten(1))[1])
    assert as_patch_mask(patch_mask) is patch_mask
    with pytest.raises(ValueError, match='same number'):
        as_patch_mask(torch.stack([mask[0], ~mask[1]]))
