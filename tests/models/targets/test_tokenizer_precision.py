"""bf16 tokenization with fp32 recomputation gives exactly the fp32 ids, on real photographs.

The photographs are `../shared/data/tiny_imagenet_10` (64 px, upscaled to 112 px as CAE's tokenizer view) and
`../shared/data/coco128`; the weights are DALL-E-shaped and random (real ones cannot be downloaded here). Random
weights put two logits close together far more often than trained ones would, so with the full vocabulary every image
takes the near-tie path; a 4-token vocabulary on 32 px views gives a batch where some images keep their bf16 ids.
"""

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from cae_mm.models.targets import DALLETokenizer
from cae_mm.models.targets import frozen_tokenizer
from tests.models.targets.dalle_files import random_dalle_state_dict

SHARED_DATA = Path(__file__).resolve().parents[3].parent / 'shared' / 'data'
PHOTO_SETS = {'tiny_imagenet_10': ('train/*/*.JPEG', 8), 'coco128': ('images/train/*.jpg', 8)}


def mapped_photos(name: str, side: int) -> torch.Tensor:
    """``count`` photographs spread over a shared data set, resized (lanczos) to ``side`` px, after DALL-E's ``map_pixels``.

    Returns:
        ``(N, 3, side, side)`` in [0.1, 0.9].
    """
    pattern, count = PHOTO_SETS[name]
    paths = sorted((SHARED_DATA / name).glob(pattern))
    if len(paths) < count:
        pytest.skip(f'{SHARED_DATA / name} is not here')
    paths = paths[:: len(paths) // count][:count]
    pixels = np.stack(
        [np.asarray(Image.open(path).convert('RGB').resize((side, side), Image.LANCZOS)) for path in paths]
    )  # (N, side, side, 3)
    return 0.1 + 0.8 * torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255


def tokenizer_pair(hidden: int, vocab_size: int) -> tuple[DALLETokenizer, DALLETokenizer]:
    state_dict = random_dalle_state_dict(hidden, vocab_size)
    return tuple(
        DALLETokenizer(state_dict, hidden_dims=hidden, vocab_size=vocab_size, precision=precision)
        for precision in ('fp32', 'bf16_recompute')
    )


def bf16_only_ids(tokenizer: DALLETokenizer, images: torch.Tensor) -> torch.Tensor:
    """The argmax of the bf16 logits, computed as the tokenizer does: from a channels-last batch."""
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        return tokenizer.logits(images.contiguous(memory_format=torch.channels_last)).argmax(dim=1).flatten(1)


@pytest.mark.parametrize('photos', sorted(PHOTO_SETS))
def test_bf16_with_recompute_gives_the_fp32_ids_on_photographs(photos):
    """With the full vocabulary, bf16 alone changes some ids; recomputation restores every one of them."""
    images = mapped_photos(photos, side=112)
    fp32, bf16 = tokenizer_pair(hidden=64, vocab_size=8192)
    expected = fp32.token_ids(images)
    assert not torch.equal(bf16_only_ids(bf16, images), expected)  # the near-tie path has work to do
    assert torch.equal(bf16.token_ids(images), expected)
    assert bf16.recompute_stats['recomputed'] > 1


def test_images_without_a_near_tie_keep_their_bf16_ids():
    """A batch where some images are recomputed and some are not still gives exactly the fp32 ids."""
    images = mapped_photos('tiny_imagenet_10', side=32)
    fp32, bf16 = tokenizer_pair(hidden=16, vocab_size=4)
    assert torch.equal(bf16.token_ids(images), fp32.token_ids(images))
    assert 1 < bf16.recompute_stats['recomputed'] < images.shape[0]


def test_fp32_logits_of_an_image_do_not_depend_on_its_batch():
    """Recomputing a subset of the batch is only exact because the convolutions treat each image alike.

    Only for batches of two or more: oneDNN runs a batch of one with other kernels (last bits differ at small
    widths), so the tokenizer never recomputes a single image.
    """
    images = mapped_photos('coco128', side=64)
    tokenizer, _ = tokenizer_pair(hidden=32, vocab_size=8192)
    with torch.no_grad():
        whole = tokenizer.logits(images)
        for subset in ([0, 1], [5, 2], [1, 3, 4, 6, 7]):
            assert torch.equal(tokenizer.logits(images[subset]), whole[subset])


@pytest.mark.parametrize('count', [8, 7])
def test_fp32_ids_computed_a_few_images_at_a_time_are_those_of_one_pass(count):
    """On a CPU the fp32 ids come in chunks of two images (three for the odd last one), to keep the feature maps
    small: they are those of the whole batch's logits."""
    images = mapped_photos('coco128', side=112)[:count]
    tokenizer, _ = tokenizer_pair(hidden=32, vocab_size=8192)
    with torch.no_grad():
        one_pass = tokenizer.logits(images).argmax(dim=1).flatten(1)  # (B, h*w)
    chunks, logits = [], tokenizer.logits
    with mock.patch.object(tokenizer, 'logits', side_effect=lambda part: chunks.append(len(part)) or logits(part)):
        ids = tokenizer.token_ids(images)
    assert chunks == {8: [2, 2, 2, 2], 7: [2, 2, 3]}[count]
    assert torch.equal(ids, one_pass)


def test_auto_uses_bf16_only_with_amx_and_says_so():
    images = mapped_photos('tiny_imagenet_10', side=32)
    for has_amx in (False, True):
        with mock.patch.object(frozen_tokenizer, 'cpu_has_amx', return_value=has_amx):
            tokenizer = DALLETokenizer(random_dalle_state_dict(16, 8192), hidden_dims=16)
            tokenizer.token_ids(images)
        assert tokenizer.recompute_stats['images'] == (images.shape[0] if has_amx else 0)


def test_auto_falls_back_to_fp32_when_recomputation_costs_more():
    """With random weights every image has a near tie: bf16 plus recomputation is slower, so fp32 is kept."""
    images = mapped_photos('tiny_imagenet_10', side=32)
    with mock.patch.object(frozen_tokenizer, 'cpu_has_amx', return_value=True):
        tokenizer = DALLETokenizer(random_dalle_state_dict(16, 8192), hidden_dims=16)
        first = tokenizer.token_ids(images)
    assert tokenizer.recompute_stats['recomputed'] == images.shape[0]
    assert tokenizer.use_bf16 is False
    assert torch.equal(tokenizer.token_ids(images), first)


def test_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match='precision'):
        DALLETokenizer(None, hidden_dims=8, precision='fp16')


def test_bf16_precision_gives_the_bf16_ids_and_says_they_differ():
    """The opt-in ``precision='bf16'`` (mmpretrain's ids under mixed precision): the argmax of the bf16 logits, not
    recomputed, which on photographs with the full vocabulary differ from the fp32 ids."""
    images = mapped_photos('coco128', side=112)
    state_dict = random_dalle_state_dict(64, 8192)
    fp32 = DALLETokenizer(state_dict, hidden_dims=64, precision='fp32')
    bf16 = DALLETokenizer(state_dict, hidden_dims=64, precision='bf16')
    with mock.patch.object(frozen_tokenizer.MMLogger, 'get_current_instance') as logger:
        ids = bf16.token_ids(images)
    assert 'ids differ from fp32' in logger.return_value.info.call_args[0][0]
    assert torch.equal(ids, bf16_only_ids(bf16, images))
    assert not torch.equal(ids, fp32.token_ids(images))
    assert bf16.recompute_stats['recomputed'] == 0


def test_fp32_ids_do_not_depend_on_the_input_memory_layout():
    """A channels-last batch (what some pipelines give) is computed as a contiguous one: oneDNN's channels-last
    kernels sum in another order, and on random inputs that changes logits in the last bits."""
    images = mapped_photos('coco128', side=112)
    tokenizer, _ = tokenizer_pair(hidden=32, vocab_size=8192)
    channels_last = images.contiguous(memory_format=torch.channels_last)
    with mock.patch.object(tokenizer, 'logits', wraps=tokenizer.logits) as logits:
        ids = tokenizer.token_ids(channels_last)
    assert all(call.args[0].is_contiguous() for call in logits.call_args_list)
    assert torch.equal(ids, tokenizer.token_ids(images))
