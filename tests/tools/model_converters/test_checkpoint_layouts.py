"""Tests for tools/model_converters/checkpoint_layouts.py: official, mmpretrain and backbone-only layouts, exact and refusing."""

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from cae_mm.checkpoints import CheckpointConversionError
from tools.model_converters.checkpoint_layouts import (
    cae_mm_to_backbone,
    cae_mm_to_mmpretrain,
    cae_mm_to_mmpretrain_backbone,
    check_against_model,
    check_grid_size,
    mmpretrain_to_cae_mm,
    mmpretrain_tokenizer_state_dict,
    official_to_cae_mm,
    training_grid_size,
)
from cae_mm.registry import MODELS
from tests.checkpoints.official_cae import official_state_dict
from tests.models.algorithms.mmpretrain_cae import build_mmpretrain_cae, cae_mm_config

TINY = dict(width=32, depth=2, heads=2, head_depth=2, tokenizer_hidden=8)


def tiny_mmpretrain(layer_scale: float = 0.1) -> torch.nn.Module:
    return build_mmpretrain_cae(**TINY, num_masked=75, layer_scale=layer_scale)


def tiny_cae_mm(layer_scale: float = 0.1, **changes) -> torch.nn.Module:
    config = cae_mm_config(**TINY, layer_scale=layer_scale)
    config['neck'].update(changes)
    return MODELS.build(config)


@pytest.mark.parametrize('layer_scale', [0.1, 0.0])
def test_mmpretrain_to_cae_mm_to_mmpretrain_is_the_identity(layer_scale):
    """Every tensor comes back bit for bit, teacher, pos_embed and DALL-E weights included."""
    original = tiny_mmpretrain(layer_scale).state_dict()
    converted = mmpretrain_to_cae_mm(original)
    back = cae_mm_to_mmpretrain(converted, tokenizer_state_dict=mmpretrain_tokenizer_state_dict(original))
    assert set(back) == set(original)
    for key, tensor in original.items():
        assert torch.equal(back[key], tensor), key


@pytest.mark.parametrize('layer_scale', [0.1, 0.0])
def test_converted_mmpretrain_weights_fill_cae_mm_exactly(layer_scale):
    """The converted dict has exactly cae_mm's keys and shapes; mmpretrain's frozen ones-gammas are dropped."""
    converted = mmpretrain_to_cae_mm(tiny_mmpretrain(layer_scale).state_dict())
    model = tiny_cae_mm(layer_scale)
    check_against_model(converted, model)
    model.load_state_dict(converted, strict=True)
    assert not any(key.startswith(('teacher', 'target_generator')) or 'pos_embed' in key for key in converted)


def test_cae_mm_to_mmpretrain_to_cae_mm_is_the_identity():
    original = tiny_cae_mm().state_dict()
    back = mmpretrain_to_cae_mm(cae_mm_to_mmpretrain(original))
    assert set(back) == set(original)
    assert all(torch.equal(back[key], tensor) for key, tensor in original.items())


def test_cae_mm_weights_load_strictly_into_mmpretrain():
    """cae_mm -> mmpretrain fills every tensor of mmpretrain's CAE (with the tokenizer passed along)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from tests.models.algorithms.mmpretrain_cae import mmpretrain_cae_config

        target = MMPRETRAIN_MODELS.build(mmpretrain_cae_config(**TINY, num_masked=75))
    tokenizer = {
        key[len('target_generator.') :]: tensor
        for key, tensor in target.state_dict().items()
        if key.startswith('target_generator.')
    }
    converted = cae_mm_to_mmpretrain(tiny_cae_mm().state_dict(), tokenizer_state_dict=tokenizer)
    check_against_model(converted, target)
    target.load_state_dict(converted, strict=True)


def test_unknown_keys_are_listed():
    state_dict = tiny_mmpretrain().state_dict()
    state_dict['neck.extra_projection.weight'] = torch.zeros(2)
    with pytest.raises(CheckpointConversionError, match=r"1 keys .*\['neck.extra_projection.weight'\]"):
        mmpretrain_to_cae_mm(state_dict)


def test_learned_position_table_is_not_dropped():
    state_dict = tiny_mmpretrain().state_dict()
    state_dict['backbone.pos_embed'] = state_dict['backbone.pos_embed'] + 0.01
    with pytest.raises(CheckpointConversionError, match='backbone.pos_embed is not the fixed 2-D sin-cos table'):
        mmpretrain_to_cae_mm(state_dict)


def test_learned_regressor_layer_scale_without_decoder_layer_scale_is_inconsistent():
    state_dict = tiny_mmpretrain(layer_scale=0.0).state_dict()
    state_dict['neck.regressors.0.gamma_1_cross'] = state_dict['neck.regressors.0.gamma_1_cross'] * 0.5
    with pytest.raises(CheckpointConversionError, match='learned regressor layer scale'):
        mmpretrain_to_cae_mm(state_dict)


def test_regressor_projection_cannot_go_to_mmpretrain():
    narrow = tiny_cae_mm(embed_dims=16, in_dims=32, num_heads=2)
    with pytest.raises(CheckpointConversionError, match='neck.projection'):
        cae_mm_to_mmpretrain(narrow.state_dict())


def test_check_against_model_lists_missing_unexpected_and_mis_shaped_keys():
    model = tiny_cae_mm()
    state_dict = model.state_dict()
    del state_dict['neck.norm.weight']
    state_dict['head.extra'] = torch.zeros(1)
    state_dict['backbone.cls_token'] = torch.zeros(1, 1, 8)
    with pytest.raises(CheckpointConversionError) as error:
        check_against_model(state_dict, model)
    message = str(error.value)
    assert 'missing keys: neck.norm.weight' in message
    assert 'unexpected keys: head.extra' in message
    assert 'backbone.cls_token: checkpoint (1, 1, 8), model (1, 1, 32)' in message


@pytest.mark.parametrize('decoder_width', [32, 16])
def test_official_checkpoint_fills_cae_mm_one_to_one(decoder_width):
    """Every official weight lands in exactly one cae_mm tensor (values are all distinct), and the model loads it."""
    official = official_state_dict(decoder_width=decoder_width)
    converted = official_to_cae_mm(official)
    model = tiny_cae_mm(embed_dims=decoder_width, in_dims=32, num_heads=2)
    model.head = MODELS.build(
        dict(
            type='cae_mm.CAEDecoderHead',
            embed_dims=decoder_width,
            out_dims=8192,
            depth=2,
            num_heads=2,
            layer_scale_init_value=0.1,
        )
    )
    check_against_model(converted, model)
    model.load_state_dict(converted, strict=True)
    kept = {
        key: tensor
        for key, tensor in official.items()
        if not key.startswith('alignment_encoder.') and 'pos_embed' not in key
    }
    assert sorted(id(tensor) for tensor in converted.values()) == sorted(id(tensor) for tensor in kept.values())
    expected_pairs = {
        'regresser.regressor_blocks.1.mlp_cross.fc2.weight': 'neck.blocks.1.mlp.fc2.weight',
        'regresser.regressor_blocks.0.norm2_cross.bias': 'neck.blocks.0.norm2.bias',
        'regresser.regressor_blocks.0.gamma_1_cross': 'neck.blocks.0.gamma_1',
        'decoder.decoder_blocks.1.attn.qkv.weight': 'head.blocks.1.attn.qkv.weight',
        'decoder.head.weight': 'head.predictor.weight',
        'encoder.patch_embed.proj.weight': 'backbone.patch_embed.weight',
        'encoder.blocks.1.mlp.fc1.bias': 'backbone.layers.1.mlp.fc1.bias',
        'mask_token': 'neck.mask_token',
    }
    if decoder_width != 32:
        expected_pairs['encoder_to_regresser_norm.weight'] = 'neck.projection.1.weight'
    for official_key, cae_mm_key in expected_pairs.items():
        assert converted[cae_mm_key] is official[official_key]


def test_official_learned_decoder_position_table_is_refused():
    official = official_state_dict()
    official['rd_pos_embed'] = torch.randn_like(official['rd_pos_embed'])
    with pytest.raises(CheckpointConversionError, match='rd_pos_embed is not the fixed'):
        official_to_cae_mm(official)


def test_backbone_only_export_loads_by_prefix(tmp_path):
    """cae_mm_to_backbone keeps exactly backbone.*; the encoder loads it through init_cfg with prefix 'backbone.'."""
    model = tiny_cae_mm()
    backbone = cae_mm_to_backbone(model.state_dict())
    assert set(backbone) == {f'backbone.{key}' for key in model.backbone.state_dict()}
    path = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict=backbone), path)
    encoder = MODELS.build(
        dict(
            type='cae_mm.CAEVisionTransformer',
            arch=dict(embed_dims=32, num_layers=2, num_heads=2, layer_scale_init_value=0.1),
            init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'),
        )
    )
    encoder.init_weights()
    for key, tensor in model.backbone.state_dict().items():
        assert torch.equal(encoder.state_dict()[key], tensor), key
    with pytest.raises(CheckpointConversionError, match='no backbone'):
        cae_mm_to_backbone({'neck.norm.weight': torch.ones(2)})


def test_mmpretrain_backbone_export_reproduces_the_encoder_in_beit_vit():
    """The mmpretrain-named export fills BEiTViT exactly and computes the same features as the cae_mm encoder."""
    model = tiny_cae_mm().eval()
    exported = cae_mm_to_mmpretrain_backbone(model.state_dict())
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        vit = MMPRETRAIN_MODELS.build(
            dict(
                type='BEiTViT',
                arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128),
                layer_scale_init_value=0.1,
                final_norm=True,
                out_type='raw',
                use_abs_pos_emb=True,
                use_rel_pos_bias=False,
                norm_cfg=dict(type='LN', eps=1e-6),
            )
        )
    vit.eval()
    backbone = {key[len('backbone.') :]: tensor for key, tensor in exported.items()}
    check_against_model(backbone, vit)
    vit.load_state_dict(backbone, strict=True)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        (expected,), (found,) = model.backbone(images), vit(images)
    torch.testing.assert_close(found, expected, atol=1e-5, rtol=0)


def test_backbone_export_refuses_another_architectures_encoder():
    """An mmpretrain MAE (or CAE) checkpoint has backbone.* keys too, in another layout: refused, not copied."""
    mae_like = {
        'backbone.cls_token': torch.zeros(1, 1, 8),
        'backbone.pos_embed': torch.zeros(1, 5, 8),
        'backbone.patch_embed.projection.weight': torch.zeros(8, 3, 2, 2),
        'backbone.layers.0.ln1.weight': torch.zeros(8),
    }
    with pytest.raises(CheckpointConversionError, match=r"3 backbone keys are not those of cae_mm's"):
        cae_mm_to_backbone(mae_like)


@pytest.mark.parametrize('grid', [(0, 14), (-2, 14), (14, 0)])
def test_grid_size_must_be_positive(grid):
    with pytest.raises(CheckpointConversionError, match='--grid-size must be two positive numbers'):
        check_grid_size(grid)


def test_grid_size_must_match_the_training_config():
    from tests.conftest import TEST_CONFIG
    from mmengine.config import Config

    checkpoint = {'meta': {'cfg': Config.fromfile(TEST_CONFIG).pretty_text}}  # what a Runner checkpoint stores
    assert training_grid_size(checkpoint) == (8, 8)
    assert check_grid_size((8, 8), training_grid_size(checkpoint)) == (8, 8)
    with pytest.raises(CheckpointConversionError, match=r'--grid-size 14 14 does not match the 8x8 patch grid'):
        check_grid_size((14, 14), training_grid_size(checkpoint))
    assert training_grid_size({'state_dict': {}}) is None
