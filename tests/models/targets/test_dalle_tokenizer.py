"""Tests for cae_mm.models.targets.DALLETokenizer: numerics, both file formats, frozen behaviour, bad files, inputs."""

import os
import pickle

import pytest
import torch
from mmpretrain.models.selfsup.cae import DALLEEncoder

from cae_mm.models.targets import DALLETokenizer, TokenizerWeightsError
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config
from tests.models.targets.dalle_files import random_dalle_state_dict, write_openai_style_pickle

HIDDEN = 16


@pytest.fixture(scope='module')
def state_dict() -> dict[str, torch.Tensor]:
    return random_dalle_state_dict(HIDDEN)


def mapped_pixels(batch: int = 2, side: int = 112, seed: int = 0) -> torch.Tensor:
    """Tokenizer-view images after DALL-E's map_pixels: values in [0.1, 0.9]."""
    return 0.1 + 0.8 * torch.rand(batch, 3, side, side, generator=torch.Generator().manual_seed(seed))


def test_logits_equal_mmpretrain_dalle_encoder(state_dict):
    """Same weights, same input: the logits equal mmpretrain's DALLEEncoder's bit for bit; ids are their argmax."""
    reference = DALLEEncoder(n_hid=HIDDEN)
    reference.load_state_dict(state_dict)
    tokenizer = DALLETokenizer(checkpoint=state_dict, hidden_dims=HIDDEN)
    images = mapped_pixels()
    logits = tokenizer.logits(images)
    assert logits.shape == (2, 8192, 14, 14)
    assert torch.equal(logits, reference(images))
    ids = tokenizer.token_ids(images)
    assert ids.dtype == torch.int64 and ids.shape == (2, 196)
    assert torch.equal(ids, logits.argmax(1).flatten(1))
    assert ids.unique().numel() > 1


def test_forward_gives_the_ids_of_the_masked_patches_in_row_major_order(state_dict):
    tokenizer = DALLETokenizer(checkpoint=state_dict, hidden_dims=HIDDEN)
    images = mapped_pixels()
    mask = torch.zeros(2, 14, 14, dtype=torch.bool)
    mask[0, 3, 4] = mask[0, 10, 1] = mask[1, 0, 0] = mask[1, 13, 13] = True
    ids = tokenizer(images, mask)
    all_ids = tokenizer.token_ids(images)
    assert ids.shape == (2, 2)
    assert ids[0].tolist() == [all_ids[0, 3 * 14 + 4], all_ids[0, 10 * 14 + 1]]
    assert ids[1].tolist() == [all_ids[1, 0], all_ids[1, 195]]


def test_both_file_formats_load_to_the_same_tokenizer(state_dict, tmp_path):
    """mmpretrain's state dict and OpenAI's pickled module (read without the dall_e package) give identical ids."""
    state_dict_file = tmp_path / 'dalle_encoder.pth'
    torch.save(state_dict, state_dict_file)
    pickle_file = tmp_path / 'encoder.pkl'
    write_openai_style_pickle(pickle_file, state_dict)
    from_state_dict = DALLETokenizer(checkpoint=str(state_dict_file), hidden_dims=HIDDEN)
    from_pickle = DALLETokenizer(checkpoint=str(pickle_file), hidden_dims=HIDDEN)
    images = mapped_pixels()
    assert torch.equal(from_pickle.token_ids(images), from_state_dict.token_ids(images))
    for name, tensor in from_pickle.named_buffers():
        assert torch.equal(tensor, state_dict[name])


@pytest.mark.slow
def test_openai_size_files_load(tmp_path):
    """The real shapes (hidden width 256, 8192 tokens, 53.8M weights) load from both formats."""
    state_dict = random_dalle_state_dict(hidden=256)
    state_dict_file, pickle_file = tmp_path / 'dalle_encoder.pth', tmp_path / 'encoder.pkl'
    torch.save(state_dict, state_dict_file)
    write_openai_style_pickle(pickle_file, state_dict)
    for path in (state_dict_file, pickle_file):
        tokenizer = DALLETokenizer(checkpoint=str(path))
        assert sum(buffer.numel() for buffer in tokenizer.buffers()) == sum(t.numel() for t in state_dict.values())
        assert torch.equal(tokenizer.blocks.output.conv.w, state_dict['blocks.output.conv.w'])
        assert tokenizer.token_ids(mapped_pixels(batch=1)).shape == (1, 196)


def test_missing_file_says_how_to_obtain_it(tmp_path):
    path = tmp_path / 'tokenizers' / 'dalle_encoder.pth'
    with pytest.raises(TokenizerWeightsError) as error:
        DALLETokenizer(checkpoint=str(path))
    message = str(error.value)
    assert str(path) in message
    assert 'https://download.openmmlab.com/mmselfsup/1.x/target_generator_ckpt/dalle_encoder.pth' in message
    assert 'https://cdn.openai.com/dall-e/encoder.pkl' in message
    assert 'never downloads' in message


@pytest.mark.parametrize('cut', [0.5, 0.99])
def test_truncated_file_is_an_error(state_dict, tmp_path, cut):
    path = tmp_path / 'dalle_encoder.pth'
    torch.save(state_dict, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(TokenizerWeightsError, match='truncated, corrupt'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)


@pytest.mark.parametrize('content', [[1, 2, 3], {'epoch': 3}, {'state_dict': {'blocks.input.w': 'not a tensor'}}])
def test_wrong_format_is_an_error(tmp_path, content):
    path = tmp_path / 'dalle_encoder.pth'
    torch.save(content, path)
    with pytest.raises(TokenizerWeightsError, match='is not a DALL-E encoder weights file'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)


def test_text_file_is_an_error(tmp_path):
    path = tmp_path / 'dalle_encoder.pth'
    path.write_text('<html>404 Not Found</html>')
    with pytest.raises(TokenizerWeightsError, match='not a PyTorch file'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)


def test_other_vocabulary_size_is_named(tmp_path):
    path = tmp_path / 'dalle_encoder.pth'
    torch.save(random_dalle_state_dict(HIDDEN, vocab_size=512), path)
    with pytest.raises(TokenizerWeightsError, match='vocabulary of 512 tokens.*vocab_size=8192'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)


def test_other_width_lists_the_shapes(state_dict):
    with pytest.raises(TokenizerWeightsError, match=r'blocks.input.w: file \(16, 3, 7, 7\), model \(32, 3, 7, 7\)'):
        DALLETokenizer(checkpoint=state_dict, hidden_dims=32)


def test_missing_and_unexpected_entries_are_listed(state_dict):
    broken = dict(state_dict)
    del broken['blocks.group_2.block_1.id_path.w']
    broken['blocks.extra.w'] = torch.zeros(1)
    with pytest.raises(
        TokenizerWeightsError,
        match=r"missing \['blocks.group_2.block_1.id_path.w'\], "
        r"unexpected \['blocks.extra.w'\]",
    ):
        DALLETokenizer(checkpoint=broken, hidden_dims=HIDDEN)


class RunsACommand:
    """An object whose unpickling would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_pickle_with_foreign_code_is_refused_and_not_run(tmp_path):
    """A file that would call os.system when unpickled is refused; the command never runs."""
    marker = tmp_path / 'executed'
    path = tmp_path / 'encoder.pkl'
    torch.save({'blocks.input.w': RunsACommand(str(marker))}, path)
    with pytest.raises(TokenizerWeightsError, match=r'refers to (posix|os)\.system.*nothing from the file was run'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)
    assert not marker.exists()


def test_plain_pickle_with_foreign_code_is_refused(tmp_path):
    marker = tmp_path / 'executed'
    path = tmp_path / 'encoder.pkl'
    path.write_bytes(pickle.dumps(RunsACommand(str(marker)), protocol=2))
    with pytest.raises(TokenizerWeightsError):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)
    assert not marker.exists()


def test_pickled_module_of_another_class_is_refused(tmp_path):
    """A pickled torch module that is not a dall_e Encoder (e.g. a decoder or any Sequential) is named and refused."""
    path = tmp_path / 'encoder.pkl'
    torch.save(torch.nn.Sequential(torch.nn.ReLU()), path)
    with pytest.raises(TokenizerWeightsError, match='holds a pickled torch.nn.modules.container.Sequential'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(TokenizerWeightsError, match='refers to torch.nn.modules.linear.Linear'):
        DALLETokenizer(checkpoint=str(path), hidden_dims=HIDDEN)


def test_tokenizer_is_frozen_and_outside_the_state_dict(state_dict):
    """No parameters, no state dict entries, eval mode after train(), no gradient on its output."""
    tokenizer = DALLETokenizer(checkpoint=state_dict, hidden_dims=HIDDEN)
    assert list(tokenizer.parameters()) == []
    assert tokenizer.state_dict() == {}
    tokenizer.train()
    assert not any(module.training for module in tokenizer.modules())
    images = mapped_pixels().requires_grad_()
    assert not tokenizer.token_ids(images).requires_grad


def cae_with_dalle(state_dict) -> torch.nn.Module:
    config = tiny_cae_config(patch_size=8)
    config['head'].update(out_dims=8192, reconstruction_loss='cross_entropy')
    config['target_generator'] = dict(type='cae_mm.DALLETokenizer', checkpoint=state_dict, hidden_dims=HIDDEN)
    return MODELS.build(config)


def test_cae_checkpoints_neither_hold_nor_need_the_tokenizer(state_dict):
    """A CAE's state dict has no tokenizer entries, and loads strictly into a CAE whose tokenizer keeps its weights."""
    model = cae_with_dalle(state_dict)
    saved = model.state_dict()
    assert not any(key.startswith('target_generator') for key in saved)
    other = cae_with_dalle(random_dalle_state_dict(HIDDEN, seed=1))
    other.load_state_dict(saved, strict=True)
    assert torch.equal(other.target_generator.blocks.input.w, random_dalle_state_dict(HIDDEN, seed=1)['blocks.input.w'])
    model.train()
    assert model.backbone.training and not model.target_generator.training


def test_cae_trains_a_step_against_dalle_ids(state_dict):
    """64 px model view + 64 px tokenizer view (8x8 grid of 8 px patches): finite losses, no tokenizer gradient."""
    from mmpretrain.structures import DataSample

    model = cae_with_dalle(state_dict)
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, :4] = True
    samples = [DataSample().set_mask(m) for m in mask]
    losses = model.loss([torch.randn(2, 3, 64, 64), mapped_pixels(side=64)], samples)
    sum(losses.values()).backward()
    assert all(torch.isfinite(loss) for loss in losses.values())
    assert 0 < float(losses['loss_reconstruction'].detach()) < 2 * torch.log(torch.tensor(8192.0))


def test_ids_do_not_depend_on_autocast(state_dict):
    """Under bf16 autocast the tokenizer still computes in fp32: the same ids."""
    tokenizer = DALLETokenizer(checkpoint=state_dict, hidden_dims=HIDDEN)
    images = mapped_pixels()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        autocast_ids = tokenizer.token_ids(images)
    assert torch.equal(autocast_ids, tokenizer.token_ids(images))


def test_imagenet_normalised_input_is_an_error(state_dict):
    tokenizer = DALLETokenizer(checkpoint=state_dict, hidden_dims=HIDDEN)
    with pytest.raises(ValueError, match=r'expects pixels in \[0.1, 0.9\].*second_mean=\[-31.875\]'):
        tokenizer.token_ids(torch.randn(1, 3, 112, 112))


def test_mask_on_another_grid_is_an_error(state_dict):
    tokenizer = DALLETokenizer(checkpoint=state_dict, hidden_dims=HIDDEN)
    with pytest.raises(ValueError, match='14x14 token grid.*resize the tokenizer view to 56x56'):
        tokenizer(mapped_pixels(), torch.ones(2, 7, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match='divisible by 8'):
        tokenizer.token_ids(mapped_pixels(side=100))


def test_two_norm_data_preprocessor_computes_map_pixels():
    """mmpretrain's TwoNormDataPreprocessor with mean -31.875 / std 318.75 is DALL-E's 0.8 * x / 255 + 0.1."""
    from mmpretrain.models.utils import TwoNormDataPreprocessor

    preprocessor = TwoNormDataPreprocessor(
        mean=[0, 0, 0], std=[1, 1, 1], second_mean=[-31.875] * 3, second_std=[318.75] * 3, to_rgb=True
    )
    pixels = torch.arange(256, dtype=torch.uint8).repeat(3, 1)[None].expand(1, 3, 256).reshape(1, 3, 16, 16)
    data = preprocessor(dict(inputs=[pixels, pixels], data_samples=None))
    expected = pixels.float().flip(1) / 255 * 0.8 + 0.1
    torch.testing.assert_close(data['inputs'][1], expected, atol=1e-6, rtol=0)


def test_built_from_the_registry_with_random_weights_for_tests():
    tokenizer = MODELS.build(dict(type='cae_mm.DALLETokenizer', checkpoint=None, hidden_dims=8, vocab_size=512))
    assert isinstance(tokenizer, DALLETokenizer) and tokenizer.loaded_from is None
    assert tokenizer.token_ids(mapped_pixels(batch=1)).max() < 512
