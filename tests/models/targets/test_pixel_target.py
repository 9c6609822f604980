import torch

from cae_mm.models.targets import NormalizedPixelTarget, patchify


def test_patchify_matches_explicit_loops():
    """Patch k = row-major patch, pixels ordered (row, col, channel)."""
    images = torch.randn(2, 3, 8, 12)
    patches = patchify(images, 4)
    assert patches.shape == (2, 6, 48)
    for batch in range(2):
        for patch_row in range(2):
            for patch_col in range(3):
                block = images[batch, :, patch_row * 4 : (patch_row + 1) * 4, patch_col * 4 : (patch_col + 1) * 4]
                torch.testing.assert_close(patches[batch, patch_row * 3 + patch_col], block.permute(1, 2, 0).flatten())


def test_targets_are_the_normalised_masked_patches_in_row_major_order():
    """Each target is one masked patch with zero mean and unit (unbiased) variance."""
    images = torch.randn(2, 3, 8, 8) * 5 + 3
    mask = torch.zeros(2, 2, 2, dtype=torch.bool)
    mask[0, 0, 1] = mask[0, 1, 0] = mask[1, 0, 0] = mask[1, 1, 1] = True
    targets = NormalizedPixelTarget(patch_size=4)(images, mask)
    assert targets.shape == (2, 2, 48)
    torch.testing.assert_close(targets.mean(-1), torch.zeros(2, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(targets.var(-1), torch.ones(2, 2), atol=1e-4, rtol=0)
    raw = NormalizedPixelTarget(patch_size=4, normalize_per_patch=False)(images, mask)
    patches = patchify(images, 4)
    torch.testing.assert_close(raw[0], patches[0, [1, 2]])
    torch.testing.assert_close(raw[1], patches[1, [0, 3]])
