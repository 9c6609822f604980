"""The two official CAE initialisations: Xavier (default) and the large-model `--fix_init_weight` one."""

import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cae_mm  # noqa: F401  (registers the models)
from cae_mm.models.backbones import CAEVisionTransformer
from cae_mm.models.heads import CAEDecoderHead
from cae_mm.models.necks import LatentContextRegressor
from cae_mm.registry import MODELS

ROOT = Path(__file__).resolve().parents[3]


def _parts(init_mode: str) -> list:
    torch.manual_seed(0)
    encoder = CAEVisionTransformer(arch='tiny', patch_size=8, init_mode=init_mode)
    regressor = LatentContextRegressor(embed_dims=192, depth=4, num_heads=12, init_mode=init_mode)
    decoder = CAEDecoderHead(
        embed_dims=192, out_dims=192, depth=4, num_heads=12, reconstruction_loss='mse', init_mode=init_mode
    )
    return [(encoder, encoder.layers), (regressor, regressor.blocks), (decoder, decoder.blocks)]


def test_rescaled_mode_truncates_at_one_std_and_divides_residual_outputs_by_sqrt_2i():
    for _, blocks in _parts('rescaled_truncated_normal'):
        for depth, block in enumerate(blocks, start=1):
            attention = block.attn if hasattr(block, 'attn') else block.cross_attn
            for layer in (attention.proj, block.mlp.fc2):
                bound = 0.02 / math.sqrt(2 * depth)
                assert layer.weight.abs().max() <= bound + 1e-9
                # a truncated normal at ±1 std fills its range: the largest weight is close to the bound
                assert layer.weight.abs().max() > 0.95 * bound
            assert block.mlp.fc1.weight.abs().max() <= 0.02 + 1e-9
            assert torch.all(block.mlp.fc1.bias == 0)


def test_xavier_mode_is_the_default_and_is_not_rescaled():
    for _, blocks in _parts('xavier'):
        fc1 = blocks[-1].mlp.fc1
        xavier_bound = math.sqrt(6 / (fc1.in_features + fc1.out_features))
        assert fc1.weight.abs().max() > 0.9 * xavier_bound
        fc2_last = blocks[-1].mlp.fc2
        assert fc2_last.weight.abs().max() > 0.9 * math.sqrt(6 / (fc2_last.in_features + fc2_last.out_features))


def test_unknown_init_mode_is_refused():
    with pytest.raises(ValueError, match='init mode'):
        LatentContextRegressor(embed_dims=64, depth=1, num_heads=4, init_mode='kaiming')


@pytest.mark.parametrize(
    'name',
    [
        'cae_vit-large-p16_32xb64-pixel-1600e_in1k.py',
        'cae_vit-large-p16_32xb64-dalle-1600e_in1k.py',
        'cae_vit-huge-p16_32xb64-pixel-1600e_in1k.py',
    ],
)
def test_large_and_huge_configs_follow_the_official_large_script(name):
    """`--decoder_layer_scale_init_value 1e-5` and `--fix_init_weight` of scripts/cae_large_1600e.sh."""
    model = Config.fromfile(ROOT / 'configs' / 'cae' / name).model
    assert model.neck.layer_scale_init_value == 1e-5
    assert model.head.layer_scale_init_value == 1e-5
    for part in (model.backbone, model.neck, model.head):
        assert part.init_mode == 'rescaled_truncated_normal'
    encoder = CAEVisionTransformer(arch=model.backbone.arch, patch_size=16)
    assert torch.all(encoder.layers[0].gamma_1 == 1e-5)


def test_base_config_keeps_xavier_and_layer_scale_0_1():
    model = Config.fromfile(ROOT / 'configs' / 'cae' / 'cae_vit-base-p16_32xb64-pixel-1600e_in1k.py').model
    assert model.neck.layer_scale_init_value == 0.1
    assert 'init_mode' not in model.neck and 'init_mode' not in model.backbone


def test_attentive_probe_sgd_uses_nesterov_momentum():
    """The official `--opt sgd` builds SGD(momentum=0.9, nesterov=True) (furnace/optim_factory.py)."""
    from mmengine.optim import build_optim_wrapper

    cfg = Config.fromfile(
        ROOT / 'configs' / 'attentive_probe' / 'cae_vit-test-p4_1xb64-attentive-probe-sgd-2e_digits_test.py'
    )
    init_default_scope('mmpretrain')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults['nesterov'] is True and optimizer.defaults['momentum'] == 0.9
    for name in ('base', 'large', 'small'):
        full = Config.fromfile(
            ROOT / 'configs' / 'attentive_probe' / f'cae_vit-{name}-p16_32xb256-attentive-probe-sgd-90e_in1k.py'
        )
        assert full.optim_wrapper.optimizer.nesterov is True
