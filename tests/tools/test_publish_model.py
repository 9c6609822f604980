"""tools/publish_model.py: release files without training state, named by their hash, loadable by cae_mm's loaders."""

import hashlib
import re

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import load_checkpoint

from cae_mm.checkpoints import CheckpointReadError, CheckpointWriteError
from cae_mm.models.backbones.vision_transformer import CAEVisionTransformer
from cae_mm.registry import MODELS
from tools.visualization.model_loading import build_model, load_config
from tests.checkpoints.test_reading import torchscript_archive_that_writes
from tests.conftest import TEST_CONFIG
from tests.tools.tool_loading import load_tool


def publish_model():
    return load_tool('publish_model.py')


@pytest.fixture
def training_checkpoint(tmp_path):
    """A checkpoint laid out as mmengine's Runner writes one: numpy values in meta, optimizer state after a step,
    parameter schedulers, the message hub's log buffers and the random generator states."""
    model = MODELS.build(load_config(TEST_CONFIG).model)
    optimizer = torch.optim.AdamW(model.parameters())
    sum(parameter.sum() for parameter in model.parameters()).backward()
    optimizer.step()
    message_hub = MessageHub.get_instance('publish_model_test')
    message_hub.update_scalar('train/loss', 1.5)
    checkpoint = dict(
        meta=dict(
            epoch=0,
            iter=8,
            seed=np.int64(3),
            cfg='model = dict()',
            time='20260101_000000',
            mmengine_version='0.10.7',
            dataset_meta=dict(classes=None),
            hook_msgs=dict(last_ckpt='x.pth'),
        ),
        state_dict=model.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(last_epoch=8)],
        message_hub=message_hub.state_dict(),
        random_states=[dict(torch=torch.get_rng_state())],
    )
    path = tmp_path / 'iter_8.pth'
    torch.save(checkpoint, path)
    return path, model


def test_full_release_keeps_every_weight_and_drops_training_state(tmp_path, training_checkpoint, capsys):
    source, model = training_checkpoint
    path = publish_model().main([str(source), str(tmp_path / 'release' / 'cae_tiny.pth')])
    match = re.fullmatch(r'cae_tiny-([0-9a-f]{8})\.pth', path.name)
    assert match and hashlib.sha256(path.read_bytes()).hexdigest()[:8] == match.group(1)
    assert [file.name for file in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    released = torch.load(path, weights_only=True)  # plain tensors and values only
    assert set(released) == {'meta', 'state_dict'}
    assert released['meta'] == dict(
        epoch=0,
        iter=8,
        seed=3,
        cfg='model = dict()',
        time='20260101_000000',
        mmengine_version='0.10.7',
        published_from='iter_8.pth',
        contents='full model',
    )
    expected = model.state_dict()
    assert released['state_dict'].keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(released['state_dict'][key], value), key
    assert 'dropped message_hub, optimizer, param_schedulers, random_states' in capsys.readouterr().out


def test_full_release_loads_into_the_model_strictly(tmp_path, training_checkpoint):
    """The reconstruction tools' exact loader and mmengine's strict load both accept it."""
    source, model = training_checkpoint
    path = publish_model().main([str(source), str(tmp_path / 'cae_tiny.pth')])
    cfg = load_config(TEST_CONFIG)
    loaded = build_model(cfg, path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    load_checkpoint(MODELS.build(cfg.model), str(path), strict=True)


def test_backbone_release_loads_through_the_checked_pretrained_loader(tmp_path, training_checkpoint):
    """--backbone-only keeps exactly the encoder, under backbone.*, and init_cfg=Pretrained(prefix='backbone.')
    fills a fresh encoder with it (every key checked)."""
    source, model = training_checkpoint
    path = publish_model().main([str(source), str(tmp_path / 'cae_tiny-backbone.pth'), '--backbone-only'])
    released = torch.load(path, weights_only=True)
    assert released['meta']['contents'] == 'backbone'
    assert set(released['state_dict']) == {f'backbone.{key}' for key in model.backbone.state_dict()}
    encoder = CAEVisionTransformer(
        arch='test', patch_size=8, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    )
    encoder.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(encoder.state_dict()[key], value), key


def test_a_failed_write_leaves_nothing(tmp_path, training_checkpoint, monkeypatch):
    source, _ = training_checkpoint
    tool = publish_model()

    def failing_fsync(descriptor):
        raise OSError('disk full')

    monkeypatch.setattr('os.fsync', failing_fsync)
    with pytest.raises(OSError, match='disk full'):
        tool.main([str(source), str(tmp_path / 'out' / 'cae_tiny.pth')])
    assert list((tmp_path / 'out').iterdir()) == []


def test_a_file_without_weights_is_refused(tmp_path):
    source = tmp_path / 'not_weights.pth'
    torch.save(dict(meta=dict(iter=1), state_dict=dict(note='no tensors')), source)
    with pytest.raises(CheckpointReadError, match=r"holds no weights: its 'state_dict' entry has entries that are not"):
        publish_model().main([str(source), str(tmp_path / 'out.pth')])


@pytest.mark.parametrize('content', [{}, [1], torch.ones(1)], ids=['empty', 'list', 'tensor'])
def test_a_checkpoint_without_weights_writes_nothing(tmp_path, content):
    source = tmp_path / 'empty.pth'
    torch.save(content, source)
    with pytest.raises(CheckpointReadError, match='holds no weights'):
        publish_model().main([str(source), str(tmp_path / 'out' / 'release.pth')])
    assert not (tmp_path / 'out').exists()


def test_a_destination_folder_is_refused(tmp_path, training_checkpoint):
    """``publish_model.py SRC existing_dir`` used to write existing_dir-HASH.pth beside the folder."""
    source, _ = training_checkpoint
    (tmp_path / 'release').mkdir()
    with pytest.raises(CheckpointWriteError, match='is a folder'):
        publish_model().main([str(source), str(tmp_path / 'release')])
    assert sorted(path.name for path in tmp_path.iterdir()) == ['iter_8.pth', 'release']


def test_an_existing_release_is_replaced_only_with_force(tmp_path, training_checkpoint):
    source, _ = training_checkpoint
    tool = publish_model()
    first = tool.main([str(source), str(tmp_path / 'cae.pth')])
    with pytest.raises(CheckpointWriteError, match='exists: pass --force'):
        tool.main([str(source), str(tmp_path / 'cae.pth')])
    assert tool.main([str(source), str(tmp_path / 'cae.pth'), '--force']) == first


def test_the_source_as_destination_is_refused(tmp_path, training_checkpoint):
    source, _ = training_checkpoint
    before = source.read_bytes()
    with pytest.raises(CheckpointWriteError, match='is the input'):
        publish_model().main([str(source), str(source), '--force'])
    assert source.read_bytes() == before and sorted(path.name for path in tmp_path.iterdir()) == ['iter_8.pth']


def test_release_file_mode_follows_the_umask(tmp_path, training_checkpoint):
    import os
    import stat

    source, _ = training_checkpoint
    previous = os.umask(0o022)
    try:
        release = publish_model().main([str(source), str(tmp_path / 'cae.pth')])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(release.stat().st_mode) == 0o644


def test_torchscript_archive_is_refused_and_its_code_never_runs(tmp_path):
    source, marker = torchscript_archive_that_writes(tmp_path)
    with pytest.raises(CheckpointReadError, match='TorchScript'):
        publish_model().main([str(source), str(tmp_path / 'out.pth')])
    assert not marker.exists()


def test_the_moving_average_target_encoder_is_training_state(tmp_path):
    """CAE(target_momentum>0): the release drops ``target_encoder.*``; the reconstruction tools' loader and a strict
    mmengine load (continuing pretraining from a release) both accept it, the latter restarting the average from the
    encoder."""
    cfg = load_config(TEST_CONFIG)
    cfg.model.target_momentum = 0.99
    model = MODELS.build(cfg.model)
    with torch.no_grad():
        for parameter in model.target_encoder.parameters():
            parameter.add_(1.0)  # an average that has moved away from the encoder
    source = tmp_path / 'iter_8.pth'
    torch.save(dict(meta=dict(iter=8), state_dict=model.state_dict()), source)

    path = publish_model().main([str(source), str(tmp_path / 'cae_momentum.pth')])
    released = torch.load(path, weights_only=True)['state_dict']
    assert released.keys() == {key for key in model.state_dict() if not key.startswith('target_encoder.')}

    loaded = build_model(cfg, path)
    assert loaded.target_encoder is None
    for key, value in released.items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert build_model(cfg, source).target_encoder is None  # the training checkpoint, average included, also loads

    continued = MODELS.build(cfg.model)
    load_checkpoint(continued, str(path), strict=True)
    for (name, average), encoder in zip(
        continued.target_encoder.state_dict().items(), continued.backbone.state_dict().values()
    ):
        assert torch.equal(average, encoder), name
