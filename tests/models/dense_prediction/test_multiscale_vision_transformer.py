"""The CAE encoder as a downstream backbone: padding, taps, adapters, checked pretrained loading, layer decay."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from torch import nn

from cae_mm.checkpoints import CheckpointMismatchError, CheckpointReadError
from cae_mm.models.backbones import CAEVisionTransformer
from cae_mm.models.dense_prediction import MultiScaleVisionTransformer
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config

FOUR_BLOCKS = dict(embed_dims=64, num_layers=4, num_heads=4)
PAPER_ADAPTER = dict(type='cae_mm.MultiScaleAdapter')


def backbone(**encoder_options) -> MultiScaleVisionTransformer:
    encoder = dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=(0, 1, 2, 3))
    encoder.update(encoder_options)
    return MultiScaleVisionTransformer(encoder=encoder, adapter=PAPER_ADAPTER)


def test_paper_adapter_gives_strides_2_4_8_16_for_patch_8():
    model = backbone().eval()
    outputs = model(torch.randn(2, 3, 64, 96))
    assert [tuple(output.shape) for output in outputs] == [
        (2, 64, 32, 48),
        (2, 64, 16, 24),
        (2, 64, 8, 12),
        (2, 64, 4, 6),
    ]


def test_taps_are_the_encoder_feature_maps():
    """Without an adapter the backbone returns exactly CAEVisionTransformer's featmaps of the same weights."""
    wrapped = MultiScaleVisionTransformer(encoder=dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=(1, 3))).eval()
    plain = CAEVisionTransformer(arch=FOUR_BLOCKS, patch_size=8, out_indices=(1, 3), out_type='featmap').eval()
    plain.load_state_dict(wrapped.encoder.state_dict())
    images = torch.randn(1, 3, 40, 56)
    for actual, expected in zip(wrapped(images), plain(images)):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_sizes_that_are_not_patch_multiples_are_zero_padded():
    """A 61x90 image runs as the 64x96 image padded with zeros at the bottom/right (8x12 patches)."""
    model = backbone().eval()
    images = torch.randn(1, 3, 61, 90)
    outputs = model(images)
    expected = model(F.pad(images, (0, 6, 0, 3)))
    assert outputs[2].shape[-2:] == (8, 12)
    for actual, reference in zip(outputs, expected):
        torch.testing.assert_close(actual, reference, rtol=0, atol=0)


def test_window_attention_and_simple_feature_pyramid():
    model = MultiScaleVisionTransformer(
        encoder=dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=(3,), window_size=3, global_attention_indices=(1, 3)),
        adapter=dict(type='cae_mm.SimpleFeaturePyramid', out_channels=16),
    ).eval()
    outputs = model(torch.randn(1, 3, 56, 72))  # 7x9 patches: windows padded
    assert [tuple(output.shape[1:]) for output in outputs] == [
        (16, 28, 36),
        (16, 14, 18),
        (16, 7, 9),
        (16, 3, 4),
        (16, 2, 2),
    ]


def test_bad_settings_are_errors():
    with pytest.raises(ValueError, match='out_indices entry 4 is out of range for 4 blocks'):
        backbone(out_indices=(1, 2, 3, 4))
    with pytest.raises(ValueError, match='takes 4 feature maps but the encoder taps 3'):
        backbone(out_indices=(1, 2, 3))
    with pytest.raises(ValueError, match="out_type='featmap'"):
        backbone(out_type='raw')
    with pytest.raises(ValueError, match="must not set 'init_cfg'"):
        backbone(init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
    with pytest.raises(ValueError, match='needs checkpoint=PATH'):
        MultiScaleVisionTransformer(encoder=dict(arch='test'), init_cfg=dict(type='Pretrained', checkpoint=None))
    with pytest.raises(ValueError, match='as a dict of its own'):
        MultiScaleVisionTransformer(
            encoder=dict(arch='test'), init_cfg=[dict(type='Pretrained', checkpoint='x.pth'), dict(type='Kaiming')]
        )


def tiny_cae_checkpoint(path, runner_format: bool = True, **backbone_options):
    """A tiny CAE's full state dict (backbone, neck, head), saved as mmengine's Runner saves it or as plain tensors."""
    config = tiny_cae_config()
    config['backbone'].update(arch=FOUR_BLOCKS, **backbone_options)
    cae = MODELS.build(config)
    state_dict = cae.state_dict()
    torch.save(dict(meta=dict(iter=8), state_dict=state_dict) if runner_format else state_dict, path)
    return state_dict


def test_cae_checkpoint_loads_every_backbone_key(tmp_path):
    """Full CAE checkpoint, prefix 'backbone.': every encoder tensor comes from it and none of its encoder keys is
    left over; neck/head keys are outside the prefix."""
    state_dict = tiny_cae_checkpoint(tmp_path / 'cae.pth')
    model = MultiScaleVisionTransformer(
        encoder=dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=(0, 1, 2, 3)),
        adapter=PAPER_ADAPTER,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'cae.pth'), prefix='backbone.'),
    )
    model.init_weights()
    backbone_keys = {key[len('backbone.') :] for key in state_dict if key.startswith('backbone.')}
    assert backbone_keys == set(model.encoder.state_dict())
    for key, value in model.encoder.state_dict().items():
        torch.testing.assert_close(value, state_dict[f'backbone.{key}'], rtol=0, atol=0, msg=key)


def test_backbone_only_checkpoint_loads_too(tmp_path):
    encoder = CAEVisionTransformer(arch=FOUR_BLOCKS, patch_size=8)
    torch.save(encoder.state_dict(), tmp_path / 'encoder.pth')
    model = MultiScaleVisionTransformer(
        encoder=dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=(0, 1, 2, 3)),
        adapter=PAPER_ADAPTER,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'encoder.pth'), prefix='backbone.'),
    )
    model.init_weights()
    torch.testing.assert_close(model.encoder.layers[3].mlp.fc2.weight, encoder.layers[3].mlp.fc2.weight)


@pytest.mark.parametrize(
    'options,problem',
    [
        (
            dict(patch_size=16),
            r'patch_embed.weight: checkpoint \(64, 3, 8, 8\), '
            r'model \(64, 3, 16, 16\)',
        ),
        (
            dict(arch=dict(embed_dims=32, num_layers=4, num_heads=4)),
            r'layers.0.mlp.fc1.weight: checkpoint \(256, 64\), model \(128, 32\)',
        ),
        (dict(arch=dict(embed_dims=64, num_layers=6, num_heads=4)), 'missing keys: layers.4'),
    ],
)
def test_checkpoint_of_another_patch_size_width_or_depth_is_a_clear_error(tmp_path, options, problem):
    tiny_cae_checkpoint(tmp_path / 'cae.pth')
    encoder = dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=-1)
    encoder.update(options)
    model = MultiScaleVisionTransformer(
        encoder=encoder, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'cae.pth'), prefix='backbone.')
    )
    with pytest.raises(CheckpointMismatchError, match=problem):
        model.init_weights()


def test_missing_checkpoint_file_is_a_clear_error(tmp_path):
    model = MultiScaleVisionTransformer(
        encoder=dict(arch='test'), init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'absent.pth'))
    )
    with pytest.raises(CheckpointReadError, match='absent.pth'):
        model.init_weights()


class Detector(nn.Module):
    """The attribute layout mmdet/mmseg models have: ``backbone`` plus heads."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = backbone()
        self.head = nn.Linear(64, 2)


def test_layer_decay_reaches_the_wrapped_encoder():
    """Layer ids: patch embedding 0, block i -> i + 1, adapter and heads last; lr scales follow 0.5 ** distance."""
    model = Detector()
    depth = model.backbone.get_layer_depth
    assert depth('backbone.encoder.patch_embed.weight', 'backbone.') == (0, 6)
    assert depth('backbone.encoder.cls_token', 'backbone.') == (0, 6)
    assert depth('backbone.encoder.layers.2.attn.qkv.weight', 'backbone.') == (3, 6)
    assert depth('backbone.adapter.upsample_2x.weight', 'backbone.') == (5, 6)
    assert depth('head.weight', 'backbone.') == (5, 6)
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
            constructor='cae_mm.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.5),
        ),
    )
    lr_of = {name: group['lr'] for group in optim_wrapper.optimizer.param_groups for name in group['param_names']}
    assert lr_of['backbone.encoder.patch_embed.weight'] == 0.5**5
    assert lr_of['backbone.encoder.layers.3.mlp.fc1.weight'] == 0.5
    assert lr_of['backbone.adapter.upsample_4x.0.weight'] == lr_of['head.weight'] == 1.0
    no_decay = {
        name
        for group in optim_wrapper.optimizer.param_groups
        if group['weight_decay'] == 0
        for name in group['param_names']
    }
    assert 'backbone.encoder.cls_token' in no_decay and 'backbone.encoder.layers.0.attn.q_bias' in no_decay


def test_relative_position_bias_option_loads_from_a_checkpoint_without_it(tmp_path):
    """The segmentation recipe's per-block bias is new (zero) when a pretraining checkpoint loads; the rest loads."""
    state_dict = tiny_cae_checkpoint(tmp_path / 'cae.pth')
    model = MultiScaleVisionTransformer(
        encoder=dict(arch=FOUR_BLOCKS, patch_size=8, out_indices=(0, 1, 2, 3), relative_position_bias_grid=(8, 8)),
        adapter=PAPER_ADAPTER,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'cae.pth'), prefix='backbone.'),
    )
    model.init_weights()
    torch.testing.assert_close(model.encoder.layers[0].attn.qkv.weight, state_dict['backbone.layers.0.attn.qkv.weight'])
    assert all(torch.count_nonzero(bias.table) == 0 for bias in model.encoder.relative_position_bias)
    assert model(torch.randn(1, 3, 64, 64))[0].shape == (1, 64, 32, 32)
    assert model.get_layer_depth('backbone.encoder.relative_position_bias.2.table', 'backbone.') == (3, 6)
