"""Loading pretrained encoder weights: full CAE or backbone-only checkpoints, every key checked."""

import pytest
import torch

from cae_mm.checkpoints import CheckpointMismatchError, CheckpointReadError, load_pretrained_weights
from cae_mm.models.backbones import CAEVisionTransformer
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config, tiny_classifier


@pytest.fixture
def pretrained_cae(tmp_path):
    """A tiny CAE with non-default weights, saved as an mmengine-style checkpoint; returns (model, path)."""
    model = MODELS.build(tiny_cae_config())
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    path = tmp_path / 'cae.pth'
    torch.save(dict(meta=dict(iter=8), state_dict=model.state_dict()), path)
    return model, path


def assert_same_encoder(loaded: torch.nn.Module, source: torch.nn.Module) -> None:
    expected = source.state_dict()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0, msg=key)


def test_full_cae_checkpoint_loads_the_backbone_keys(pretrained_cae):
    """From a full CAE checkpoint only ``backbone.*`` is read, and every encoder tensor is replaced."""
    model, path = pretrained_cae
    encoder = CAEVisionTransformer(arch='test', patch_size=8)
    load_pretrained_weights(encoder, str(path), prefix='backbone.')
    assert_same_encoder(encoder, model.backbone)


def test_backbone_only_checkpoint_loads_as_is(pretrained_cae, tmp_path):
    """A plain state dict of the encoder (no prefix) is accepted with the same prefix argument."""
    model, _ = pretrained_cae
    path = tmp_path / 'encoder.pth'
    torch.save(model.backbone.state_dict(), path)
    encoder = CAEVisionTransformer(arch='test', patch_size=8)
    load_pretrained_weights(encoder, str(path), prefix='backbone.')
    assert_same_encoder(encoder, model.backbone)


def arch_with_depth(depth: int) -> dict:
    return dict(embed_dims=64, num_layers=depth, num_heads=4, layer_scale_init_value=0.1)


def test_missing_and_unexpected_keys_are_listed(pretrained_cae):
    """A deeper encoder lacks blocks, a shallower one has extra keys: both raise, naming the keys."""
    _, path = pretrained_cae
    deeper = CAEVisionTransformer(arch=arch_with_depth(3), patch_size=8)
    with pytest.raises(CheckpointMismatchError, match=r'missing keys: layers\.2\.attn\.proj\.bias'):
        load_pretrained_weights(deeper, str(path))
    shallower = CAEVisionTransformer(arch=arch_with_depth(1), patch_size=8)
    with pytest.raises(CheckpointMismatchError, match=r'unexpected keys: layers\.1\.attn\.proj\.bias'):
        load_pretrained_weights(shallower, str(path))


def test_wrong_shapes_and_foreign_checkpoints_are_errors(pretrained_cae, tmp_path):
    """Another patch size gives a shape error; a checkpoint of other names lists its top-level names."""
    _, path = pretrained_cae
    other_patch = CAEVisionTransformer(arch='test', patch_size=16)
    with pytest.raises(CheckpointMismatchError, match=r'patch_embed\.weight: checkpoint \(64, 3, 8, 8\)'):
        load_pretrained_weights(other_patch, str(path))
    foreign = tmp_path / 'foreign.pth'
    torch.save(dict(model={'encoder.blocks.0.attn.qkv.weight': torch.zeros(3, 3)}), foreign)
    with pytest.raises(CheckpointMismatchError, match=r'top-level names are encoder\.'):
        load_pretrained_weights(CAEVisionTransformer(arch='test', patch_size=8), str(foreign))


def test_missing_file_and_empty_path_are_clear_errors(tmp_path):
    """No checkpoint path, or one that does not exist, fails before anything is loaded."""
    encoder = CAEVisionTransformer(arch='test', patch_size=8)
    with pytest.raises(ValueError, match='no checkpoint given'):
        load_pretrained_weights(encoder, '')
    with pytest.raises(CheckpointReadError, match='does not exist'):
        load_pretrained_weights(encoder, str(tmp_path / 'absent.pth'))


def test_fine_tuning_encoder_keeps_zero_bias_and_drops_the_final_norm(pretrained_cae):
    """Through init_cfg: the relative position bias may be absent (stays zero); without final_norm the checkpoint's
    final norm is left unused; every other tensor is loaded."""
    model, path = pretrained_cae
    encoder = CAEVisionTransformer(
        arch='test',
        patch_size=8,
        final_norm=False,
        relative_position_bias_grid=(4, 4),
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'),
    )
    encoder.init_weights()
    assert encoder.is_init
    expected = model.backbone.state_dict()
    for key, value in encoder.state_dict().items():
        if key.startswith('relative_position_bias.'):
            assert torch.count_nonzero(value) == 0
        else:
            torch.testing.assert_close(value, expected[key], rtol=0, atol=0, msg=key)


def test_image_classifier_init_weights_loads_through_the_backbone(pretrained_cae):
    """mmpretrain's ImageClassifier.init_weights reaches the checked loader via the backbone's init_cfg."""
    model, path = pretrained_cae
    classifier = tiny_classifier(
        dict(out_type='cls_token', init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')),
        dict(type='cae_mm.LinearProbeHead', num_classes=3, in_channels=64),
    )
    classifier.init_weights()
    assert_same_encoder(classifier.backbone, model.backbone)


@pytest.mark.parametrize('content', [{}, [torch.ones(1)], torch.ones(1)], ids=['empty-dict', 'list', 'tensor'])
def test_a_file_without_weights_is_named(tmp_path, content):
    path = tmp_path / 'weights.pth'
    torch.save(content, path)
    with pytest.raises(CheckpointReadError, match='holds no weights'):
        load_pretrained_weights(CAEVisionTransformer(arch='test', patch_size=8), str(path))
