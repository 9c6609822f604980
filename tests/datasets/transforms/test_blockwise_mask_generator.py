"""Tests for cae_mm.datasets.transforms.BlockwiseMaskGenerator."""

import numpy as np
import pytest

from cae_mm.datasets.transforms import BlockwiseMaskGenerator
from cae_mm.registry import TRANSFORMS

try:
    from scipy import ndimage
except ImportError:  # pragma: no cover - scipy ships with the venv, the BFS is a fallback
    ndimage = None


def count_components(mask):
    """Number of 4-connected components of True cells."""
    if ndimage is not None:
        return ndimage.label(mask)[1]
    rows, cols = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    components = 0
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        components += 1
        stack = [start]
        seen[start] = True
        while stack:
            r, c = stack.pop()
            for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= nr < rows and 0 <= nc < cols and mask[nr, nc] and not seen[nr, nc]:
                    seen[nr, nc] = True
                    stack.append((nr, nc))
    return components


def uniform_random_mask(rng, grid, count):
    """A mask with ``count`` patches drawn uniformly without replacement."""
    mask = np.zeros(grid[0] * grid[1], dtype=bool)
    mask[rng.choice(mask.size, count, replace=False)] = True
    return mask.reshape(grid)


@pytest.mark.parametrize('grid, count', [((14, 14), 98), ((14, 14), 75), ((8, 8), 32), ((7, 10), 20)])
def test_generate_masks_exactly_the_requested_count(grid, count):
    """Every one of 200 masks is a bool array of the grid's shape with exactly ``count`` patches masked."""
    generator = BlockwiseMaskGenerator(num_masked_patches=count)
    for _ in range(200):
        mask = generator.generate(grid)
        assert mask.dtype == np.bool_
        assert mask.shape == grid
        assert int(mask.sum()) == count


def test_transform_reads_grid_from_the_image():
    """A 224x224 image with 16 px patches gets a (14, 14) mask with 98 masked patches."""
    results = BlockwiseMaskGenerator(num_masked_patches=98)({'img': np.zeros((224, 224, 3), np.uint8)})
    assert results['mask'].shape == (14, 14)
    assert results['mask'].dtype == np.bool_
    assert int(results['mask'].sum()) == 98


def test_transform_grid_follows_height_then_width():
    """A 224 high, 112 wide image gives a (14, 7) mask, rows first."""
    results = BlockwiseMaskGenerator(num_masked_patches=40)({'img': np.zeros((224, 112, 3), np.uint8)})
    assert results['mask'].shape == (14, 7)
    assert int(results['mask'].sum()) == 40


@pytest.mark.parametrize('container', [list, tuple])
def test_transform_with_two_views_uses_the_first_view(container):
    """With ``[224x224 view, 112x112 view]`` the grid comes from the first view and the views are left untouched."""
    first, second = np.zeros((224, 224, 3), np.uint8), np.zeros((112, 112, 3), np.uint8)
    results = BlockwiseMaskGenerator(num_masked_patches=98)({'img': container([first, second])})
    assert results['mask'].shape == (14, 14)
    assert int(results['mask'].sum()) == 98
    assert results['img'][0] is first and results['img'][1] is second


def test_built_from_the_registry_with_scoped_name():
    """``cae_mm.BlockwiseMaskGenerator`` builds from the registry with its arguments."""
    generator = TRANSFORMS.build(dict(type='cae_mm.BlockwiseMaskGenerator', num_masked_patches=20, patch_size=8))
    assert isinstance(generator, BlockwiseMaskGenerator)
    assert generator.generate((8, 8)).sum() == 20
    assert generator({'img': np.zeros((64, 32, 3), np.uint8)})['mask'].shape == (8, 4)


def test_same_seed_gives_the_same_masks():
    """Reseeding numpy's global generator replays the same sequence of masks."""
    generator = BlockwiseMaskGenerator(num_masked_patches=98)
    np.random.seed(123)
    first = [generator.generate((14, 14)) for _ in range(5)]
    np.random.seed(123)
    second = [generator.generate((14, 14)) for _ in range(5)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_masks():
    """Different seeds give different masks, and consecutive draws differ too."""
    generator = BlockwiseMaskGenerator(num_masked_patches=98)
    np.random.seed(1)
    a = generator.generate((14, 14))
    a_next = generator.generate((14, 14))
    np.random.seed(2)
    b = generator.generate((14, 14))
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, a_next)


def test_masks_are_blocky_compared_to_uniform_masks():
    """With 16-patch blocks the masked patches form less than half as many 4-connected regions as uniform masks."""
    generator = BlockwiseMaskGenerator(num_masked_patches=98, min_patches_per_block=16)
    rng = np.random.default_rng(0)
    blockwise = np.mean([count_components(generator.generate((14, 14))) for _ in range(50)])
    uniform = np.mean([count_components(uniform_random_mask(rng, (14, 14), 98)) for _ in range(50)])
    assert blockwise < uniform / 2


def test_masks_cover_the_whole_grid_over_many_draws():
    """Every patch position, corners included, gets masked in some of 200 draws."""
    generator = BlockwiseMaskGenerator(num_masked_patches=98)
    hits = sum(generator.generate((14, 14)).astype(int) for _ in range(200))
    assert (hits > 0).all()


def test_component_counter_agrees_with_known_masks():
    """The helper counts two separated blocks as 2 and diagonal neighbours as separate components."""
    mask = np.zeros((5, 5), dtype=bool)
    mask[0:2, 0:2] = True
    mask[3:5, 3:5] = True
    assert count_components(mask) == 2
    assert count_components(np.eye(3, dtype=bool)) == 3


@pytest.mark.parametrize('count', [0, -5, 98.0, 0.5, True, '98'])
def test_count_that_is_not_a_positive_integer_is_rejected(count):
    """A count <= 0, a float (even a whole one: not truncated), a bool or a string raises ValueError naming it."""
    with pytest.raises(ValueError, match=rf'num_masked_patches must be a positive integer .*, got {count!r}'):
        BlockwiseMaskGenerator(num_masked_patches=count)


def test_numpy_integer_count_is_accepted():
    assert BlockwiseMaskGenerator(num_masked_patches=np.int64(32), min_patches_per_block=4).generate((8, 8)).sum() == 32


@pytest.mark.parametrize('patch_size', [0, -16, 16.0])
def test_patch_size_that_is_not_a_positive_integer_is_rejected(patch_size):
    with pytest.raises(
        ValueError,
        match=rf'BlockwiseMaskGenerator patch_size must be a positive integer .*, '
        rf'got {patch_size!r}',
    ):
        BlockwiseMaskGenerator(patch_size=patch_size)


@pytest.mark.parametrize(
    'kwargs, numbers',
    [
        (dict(num_masked_patches=98, min_patches_per_block=20, max_patches_per_block=10), '20 and 10'),
        (dict(num_masked_patches=10, min_patches_per_block=16), '16 and 10'),
        (dict(num_masked_patches=98, min_patches_per_block=0), '0 and 98'),
    ],
)
def test_min_block_larger_than_max_block_is_rejected(kwargs, numbers):
    """``min_patches_per_block`` must be positive and at most ``max_patches_per_block`` (defaulting to the count)."""
    with pytest.raises(ValueError, match=rf'0 < min_patches_per_block <= max_patches_per_block, got {numbers}'):
        BlockwiseMaskGenerator(**kwargs)


@pytest.mark.parametrize('aspect_ratio_range', [(0.0, 3.0), (-1.0, 2.0), (3.0, 0.3)])
def test_bad_aspect_ratio_range_is_rejected(aspect_ratio_range):
    """An aspect ratio range that is not ``0 < low <= high`` raises ValueError."""
    with pytest.raises(ValueError, match=r'aspect_ratio_range must satisfy 0 < low <= high'):
        BlockwiseMaskGenerator(aspect_ratio_range=aspect_ratio_range)


@pytest.mark.parametrize('grid, count', [((14, 14), 196), ((14, 14), 200), ((7, 10), 70)])
def test_count_not_below_number_of_patches_is_rejected_at_generate_time(grid, count):
    """Masking every patch (or more) raises ValueError naming the grid, when the mask is drawn."""
    generator = BlockwiseMaskGenerator(num_masked_patches=count)
    rows, cols = grid
    with pytest.raises(ValueError, match=rf'cannot mask {count} patches of a {rows}x{cols} grid'):
        generator.generate(grid)


def test_count_not_below_number_of_patches_is_rejected_at_transform_time():
    """The transform on a 64x64 image with 16 px patches (4x4 grid) refuses to mask all 16 patches."""
    generator = BlockwiseMaskGenerator(num_masked_patches=16)
    with pytest.raises(ValueError, match=r'4x4 grid \(16 patches\)'):
        generator({'img': np.zeros((64, 64, 3), np.uint8)})


@pytest.mark.parametrize('shape', [(225, 224, 3), (224, 200, 3), (100, 100, 3)])
def test_image_size_not_divisible_by_patch_size_is_rejected(shape):
    """An image whose sides are not multiples of the patch size raises ValueError naming the size."""
    generator = BlockwiseMaskGenerator(num_masked_patches=10, min_patches_per_block=4)
    with pytest.raises(ValueError, match=rf'image size {shape[0]}x{shape[1]} is not divisible by the patch size 16'):
        generator({'img': np.zeros(shape, np.uint8)})


@pytest.mark.parametrize('grid, count', [((14, 14), 98), ((14, 14), 195), ((7, 10), 20), ((1, 5), 3)])
def test_fallback_path_keeps_the_count_exact(grid, count):
    """With ``max_rounds=0`` the patches are drawn uniformly and the count is still exact."""
    generator = BlockwiseMaskGenerator(num_masked_patches=count, min_patches_per_block=1, max_rounds=0)
    for _ in range(50):
        mask = generator.generate(grid)
        assert mask.shape == grid
        assert int(mask.sum()) == count


def test_fallback_path_is_not_blocky():
    """The uniform fallback makes masks as scattered as uniform random ones (many more regions than blocks)."""
    blockwise = BlockwiseMaskGenerator(num_masked_patches=98)
    fallback = BlockwiseMaskGenerator(num_masked_patches=98, max_rounds=0)
    block_components = np.mean([count_components(blockwise.generate((14, 14))) for _ in range(30)])
    fallback_components = np.mean([count_components(fallback.generate((14, 14))) for _ in range(30)])
    assert fallback_components > 2 * block_components


def test_grid_too_thin_for_any_block_still_gets_an_exact_mask():
    """On a one-row grid no block fits, and the bounded fallback still masks exactly the count."""
    generator = BlockwiseMaskGenerator(num_masked_patches=5, min_patches_per_block=2, max_rounds=3)
    mask = generator.generate((1, 12))
    assert mask.shape == (1, 12)
    assert int(mask.sum()) == 5


def test_zero_attempts_per_block_are_rejected():
    """0 would skip every block and draw the whole mask uniformly at random, silently (``max_rounds=0`` does that on
    purpose: it is the fallback path's switch)."""
    with pytest.raises(
        ValueError, match=r'BlockwiseMaskGenerator attempts_per_block must be a positive integer, got 0'
    ):
        BlockwiseMaskGenerator(attempts_per_block=0)
