"""The converter scripts in tools/model_converters, run through their main() on generated checkpoint files."""

import argparse
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from cae_mm.checkpoints import CheckpointConversionError, CheckpointReadError, CheckpointWriteError
from cae_mm.models.targets import DALLETokenizer
from cae_mm.registry import MODELS
from tests.checkpoints.official_cae import official_state_dict
from tests.checkpoints.test_reading import torchscript_archive_that_writes
from tests.conftest import CONFIG_ROOT, TEST_CONFIG
from tests.models.algorithms.mmpretrain_cae import build_mmpretrain_cae, cae_mm_config
from tests.models.targets.dalle_files import write_openai_style_pickle
from tests.tools.tool_loading import load_tool

DALLE_TEST_CONFIG = CONFIG_ROOT / 'cae' / 'cae_vit-test-p8_1xb4-dalle-8i_test.py'
# mmpretrain's CAE at the size of the DALL-E tiny twin: 64 px, 8 px patches, 64 wide, 2 + 1 + 1 blocks, 8-wide DALL-E.
TWIN_SIZE = dict(width=64, depth=2, heads=4, head_depth=1, tokenizer_hidden=8, patch_size=8, image_size=64)


def tool(name: str):
    return load_tool(f'model_converters/{name}.py')


def saved_weights(path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(path, weights_only=True)
    assert set(checkpoint) == {'meta', 'state_dict'}
    return checkpoint['state_dict']


@pytest.fixture
def mmpretrain_checkpoint(tmp_path):
    """An mmengine Runner-style checkpoint of mmpretrain's CAE (numpy values in its meta, like a real one)."""
    model = build_mmpretrain_cae(**TWIN_SIZE, num_masked=24)
    path = tmp_path / 'mmpretrain_cae.pth'
    torch.save(dict(meta=dict(seed=np.int64(0), epoch=300), state_dict=model.state_dict()), path)
    return model, path


def test_mmpretrain_to_cae_mm_checks_the_config_and_extracts_the_tokenizer(mmpretrain_checkpoint, tmp_path, capsys):
    model, source = mmpretrain_checkpoint
    destination, tokenizer_file = tmp_path / 'cae_mm.pth', tmp_path / 'dalle_encoder.pth'
    tool('mmpretrain_cae_to_cae_mm').main(
        [str(source), str(destination), '--config', str(DALLE_TEST_CONFIG), '--tokenizer-out', str(tokenizer_file)]
    )
    assert f'wrote the DALL-E encoder weights to {tokenizer_file}' in capsys.readouterr().out
    converted = saved_weights(destination)
    ours = MODELS.build(
        cae_mm_config(**{k: v for k, v in TWIN_SIZE.items() if k != 'image_size'}, tokenizer_file=tokenizer_file)
    )
    ours.load_state_dict(converted, strict=True)
    assert torch.equal(ours.target_generator.blocks.input.w, model.target_generator.blocks.input.w)


def test_config_mismatch_is_reported_before_writing(mmpretrain_checkpoint, tmp_path):
    """The pixel twin predicts 192 values per patch, not 8192 ids: the shapes are listed and nothing is written."""
    _, source = mmpretrain_checkpoint
    destination = tmp_path / 'cae_mm.pth'
    with pytest.raises(
        CheckpointConversionError,
        match=r'head.predictor.weight: checkpoint \(8192, 64\), model '
        r'\(192, 64\)',
    ):
        tool('mmpretrain_cae_to_cae_mm').main([str(source), str(destination), '--config', str(TEST_CONFIG)])
    assert not destination.exists()


def test_cae_mm_to_mmpretrain_with_the_official_tokenizer_file(mmpretrain_checkpoint, tmp_path):
    """cae_mm -> mmpretrain, DALL-E weights taken from an OpenAI-format encoder.pkl: mmpretrain's CAE loads it all."""
    model, source = mmpretrain_checkpoint
    intermediate, destination, pickle_file = tmp_path / 'cae_mm.pth', tmp_path / 'back.pth', tmp_path / 'encoder.pkl'
    tool('mmpretrain_cae_to_cae_mm').main([str(source), str(intermediate)])
    tokenizer = {
        key[len('target_generator.') :]: tensor
        for key, tensor in model.state_dict().items()
        if key.startswith('target_generator.')
    }
    write_openai_style_pickle(pickle_file, tokenizer)
    tool('cae_mm_to_mmpretrain_cae').main(
        [str(intermediate), str(destination), '--tokenizer', str(pickle_file), '--grid-size', '8', '8']
    )
    back = saved_weights(destination)
    original = model.state_dict()
    assert set(back) == set(original)
    assert all(torch.equal(back[key], tensor) for key, tensor in original.items())


def test_official_checkpoint_with_its_namespace_converts(tmp_path):
    """The official file holds args (argparse.Namespace), optimizer state and the epoch besides 'model'."""
    source, destination = tmp_path / 'checkpoint-799.pth', tmp_path / 'cae_mm.pth'
    official = official_state_dict()
    torch.save(
        dict(
            model=official,
            optimizer=dict(state={}, param_groups=[dict(lr=1e-5)]),
            epoch=799,
            scaler=dict(scale=65536.0),
            args=argparse.Namespace(model='cae_base_patch16_224_8k_vocab', lr=1.5e-3),
        ),
        source,
    )
    tool('official_cae_to_cae_mm').main([str(source), str(destination)])
    converted = saved_weights(destination)
    model = MODELS.build(cae_mm_config(width=32, depth=2, heads=2, head_depth=2, tokenizer_hidden=8))
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.head.predictor.weight, official['decoder.head.weight'])


@pytest.mark.parametrize(
    'output_format,prefix_key', [('cae_mm', 'backbone.norm.weight'), ('mmpretrain', 'backbone.ln1.weight')]
)
def test_backbone_export(mmpretrain_checkpoint, tmp_path, output_format, prefix_key):
    _, source = mmpretrain_checkpoint
    intermediate, destination = tmp_path / 'cae_mm.pth', tmp_path / 'backbone.pth'
    tool('mmpretrain_cae_to_cae_mm').main([str(source), str(intermediate)])
    tool('cae_mm_to_backbone').main([str(intermediate), str(destination), '--format', output_format])
    exported = saved_weights(destination)
    assert prefix_key in exported
    assert all(key.startswith('backbone.') for key in exported)
    assert ('backbone.pos_embed' in exported) == (output_format == 'mmpretrain')


def test_checkpoint_with_foreign_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'executed'

    class RunsACommand:
        def __reduce__(self):
            return os.system, (f'touch {marker}',)

    source = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, payload=RunsACommand()), source)
    with pytest.raises(CheckpointReadError):
        tool('mmpretrain_cae_to_cae_mm').main([str(source), str(tmp_path / 'out.pth')])
    assert not marker.exists()


def test_truncated_and_missing_checkpoints_are_named(mmpretrain_checkpoint, tmp_path):
    _, source = mmpretrain_checkpoint
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointReadError, match='truncated'):
        tool('mmpretrain_cae_to_cae_mm').main([str(source), str(tmp_path / 'out.pth')])
    with pytest.raises(CheckpointReadError, match='does not exist'):
        tool('cae_mm_to_backbone').main([str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth')])


def test_tokenizer_written_by_the_converter_is_a_dalle_encoder_file(mmpretrain_checkpoint, tmp_path):
    model, source = mmpretrain_checkpoint
    tokenizer_file = tmp_path / 'dalle_encoder.pth'
    tool('mmpretrain_cae_to_cae_mm').main(
        [str(source), str(tmp_path / 'out.pth'), '--tokenizer-out', str(tokenizer_file)]
    )
    tokenizer = DALLETokenizer(checkpoint=str(tokenizer_file), hidden_dims=8)
    images = 0.1 + 0.8 * torch.rand(1, 3, 64, 64)
    expected = model.target_generator(images).argmax(1).flatten(1)
    assert torch.equal(tokenizer.token_ids(images), expected)


CONVERTERS = ['cae_mm_to_backbone', 'cae_mm_to_mmpretrain_cae', 'mmpretrain_cae_to_cae_mm', 'official_cae_to_cae_mm']


@pytest.mark.parametrize('converter', CONVERTERS)
def test_torchscript_archive_is_refused_and_its_code_never_runs(tmp_path, converter):
    source, marker = torchscript_archive_that_writes(tmp_path)
    with pytest.raises(CheckpointReadError, match='TorchScript'):
        tool(converter).main([str(source), str(tmp_path / 'out.pth')])
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('converter', CONVERTERS)
def test_output_that_is_the_input_is_refused_even_with_force(mmpretrain_checkpoint, tmp_path, converter):
    _, source = mmpretrain_checkpoint
    before = source.read_bytes()
    with pytest.raises(CheckpointWriteError, match='is the input'):
        tool(converter).main([str(source), str(source), '--force'])
    assert source.read_bytes() == before


@pytest.mark.parametrize('converter', CONVERTERS)
def test_existing_output_needs_force_and_a_folder_is_refused(mmpretrain_checkpoint, tmp_path, converter):
    _, source = mmpretrain_checkpoint
    existing = tmp_path / 'existing.pth'
    existing.write_bytes(b'keep me')
    with pytest.raises(CheckpointWriteError, match='exists: pass --force'):
        tool(converter).main([str(source), str(existing)])
    assert existing.read_bytes() == b'keep me'
    with pytest.raises(CheckpointWriteError, match='is a folder'):
        tool(converter).main([str(source), str(tmp_path)])


@pytest.mark.parametrize('converter', CONVERTERS)
@pytest.mark.parametrize('content', [{}, {'state_dict': {}}, [1, 2]], ids=['empty', 'empty-state-dict', 'list'])
def test_a_checkpoint_without_weights_writes_nothing(tmp_path, converter, content):
    source = tmp_path / 'empty.pth'
    torch.save(content, source)
    with pytest.raises(CheckpointReadError, match='holds no weights'):
        tool(converter).main([str(source), str(tmp_path / 'out.pth')])
    assert not (tmp_path / 'out.pth').exists()


def test_backbone_export_refuses_an_mmpretrain_checkpoint(mmpretrain_checkpoint, tmp_path):
    """mmpretrain checkpoints (CAE, MAE) have backbone.* keys in mmpretrain's layout: refused, nothing written."""
    _, source = mmpretrain_checkpoint
    with pytest.raises(CheckpointConversionError, match="not those of cae_mm's CAEVisionTransformer"):
        tool('cae_mm_to_backbone').main([str(source), str(tmp_path / 'out.pth')])
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('grid', [['0', '14'], ['-1', '-1']])
def test_grid_size_must_be_positive(mmpretrain_checkpoint, tmp_path, grid):
    _, source = mmpretrain_checkpoint
    converted = tmp_path / 'cae_mm.pth'
    tool('mmpretrain_cae_to_cae_mm').main([str(source), str(converted)])
    with pytest.raises(CheckpointConversionError, match='--grid-size must be two positive numbers'):
        tool('cae_mm_to_mmpretrain_cae').main([str(converted), str(tmp_path / 'out.pth'), '--grid-size', *grid])


def test_backbone_export_of_a_training_checkpoint_on_another_grid(tmp_path):
    """A checkpoint trained on 8x8 patches: cae_mm's format needs no grid (its encoder computes positions for any),
    mmpretrain's position table must be written for the training grid."""
    model = MODELS.build(Config.fromfile(TEST_CONFIG).model)
    source = tmp_path / 'iter_8.pth'
    torch.save(dict(meta=dict(cfg=Config.fromfile(TEST_CONFIG).pretty_text), state_dict=model.state_dict()), source)
    tool('cae_mm_to_backbone').main([str(source), str(tmp_path / 'cae_mm_format.pth')])
    assert set(saved_weights(tmp_path / 'cae_mm_format.pth')) == {
        key for key in model.state_dict() if key.startswith('backbone.')
    }
    with pytest.raises(CheckpointConversionError, match='pass --grid-size 8 8'):
        tool('cae_mm_to_backbone').main([str(source), str(tmp_path / 'mmpretrain.pth'), '--format', 'mmpretrain'])
    tool('cae_mm_to_backbone').main(
        [str(source), str(tmp_path / 'mmpretrain.pth'), '--format', 'mmpretrain', '--grid-size', '8', '8']
    )
    assert saved_weights(tmp_path / 'mmpretrain.pth')['backbone.pos_embed'].shape == (1, 1 + 8 * 8, 64)
