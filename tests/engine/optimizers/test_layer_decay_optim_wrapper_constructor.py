"""Tests for cae_mm.engine.optimizers.LayerDecayOptimWrapperConstructor."""

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

import cae_mm  # noqa: F401  (registers cae_mm's modules)
from cae_mm.engine.optimizers import LayerDecayOptimWrapperConstructor
from cae_mm.registry import MODELS
from tests.conftest import tiny_cae_config

BASE_LR = 1e-3
BASE_WD = 0.05
NUM_LAYERS = 2  # arch 'test'

TINY_CAE = tiny_cae_config()

# 'call' builds the optimizer through the constructor as mmengine's Runner does; 'add_params' asks the constructor
# for the parameter groups directly.
VIA_CALL = 'call'
VIA_ADD_PARAMS = 'add_params'


@pytest.fixture
def model():
    return MODELS.build(TINY_CAE)


def build_constructor(paramwise_cfg=None):
    return OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='cae_mm.LayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=BASE_WD)),
            paramwise_cfg=paramwise_cfg,
        )
    )


def parameter_groups(model, paramwise_cfg, via):
    """The parameter groups the constructor produces for ``model``."""
    constructor = build_constructor(paramwise_cfg)
    if via == 'call':
        optim_wrapper = constructor(model)
        assert isinstance(optim_wrapper, OptimWrapper)
        assert isinstance(optim_wrapper.optimizer, torch.optim.AdamW)
        return optim_wrapper.optimizer.param_groups
    groups = []
    constructor.add_params(groups, model)
    return groups


def settings_by_name(model, groups):
    """``name -> (lr, weight_decay)`` of every parameter in ``groups``, checking each appears once."""
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    settings = {}
    for group in groups:
        for parameter in group['params']:
            name = names[id(parameter)]
            assert name not in settings, f'{name} is in two parameter groups'
            settings[name] = (group['lr'], group['weight_decay'])
    return settings


def test_registered_under_cae_mm_scope():
    """The scoped name builds a LayerDecayOptimWrapperConstructor with the optimizer's base lr and weight decay."""
    constructor = build_constructor(dict(layer_decay_rate=0.75))
    assert isinstance(constructor, LayerDecayOptimWrapperConstructor)
    assert constructor.layer_decay_rate == 0.75
    assert (constructor.base_lr, constructor.base_wd) == (BASE_LR, BASE_WD)


@pytest.mark.parametrize('paramwise_cfg', [None, dict(layer_decay_rate=0.5)])
@pytest.mark.parametrize('via', ['call', VIA_ADD_PARAMS])
def test_every_parameter_in_exactly_one_group(model, paramwise_cfg, via):
    """Every trainable parameter appears in exactly one group."""
    settings = settings_by_name(model, parameter_groups(model, paramwise_cfg, via))
    assert sorted(settings) == sorted(name for name, _ in model.named_parameters())


@pytest.mark.parametrize('via', [VIA_CALL, VIA_ADD_PARAMS])
def test_weight_decay_excludes_1d_parameters_and_tokens(model, via):
    """Weight decay 0 holds exactly the 1-D parameters plus the cls and mask tokens; all others get 0.05."""
    settings = settings_by_name(model, parameter_groups(model, None, via))
    shapes = {name: parameter.shape for name, parameter in model.named_parameters()}
    no_decay = {name for name, (_, weight_decay) in settings.items() if weight_decay == 0}
    expected = {name for name, shape in shapes.items() if len(shape) == 1} | {'backbone.cls_token', 'neck.mask_token'}
    assert no_decay == expected
    assert {'backbone.layers.0.attn.q_bias', 'backbone.layers.1.gamma_2', 'head.predictor.bias'} <= no_decay
    assert all(weight_decay == BASE_WD for name, (_, weight_decay) in settings.items() if name not in expected)
    assert 'backbone.patch_embed.weight' not in no_decay


@pytest.mark.parametrize('via', [VIA_CALL, VIA_ADD_PARAMS])
def test_layer_decay_scales_learning_rates_by_depth(model, via):
    """With rate 0.5: patch embedding at 0.5**(L+1), block i at 0.5**(L-i), backbone norm, neck and head at 1."""
    settings = settings_by_name(model, parameter_groups(model, dict(layer_decay_rate=0.5), via))

    def expected_lr(name):
        if name.startswith(('backbone.patch_embed', 'backbone.cls_token')):
            return BASE_LR * 0.5 ** (NUM_LAYERS + 1)
        if name.startswith('backbone.layers.'):
            return BASE_LR * 0.5 ** (NUM_LAYERS - int(name.split('.')[2]))
        return BASE_LR

    assert settings['backbone.patch_embed.weight'][0] == pytest.approx(BASE_LR * 0.125)
    assert settings['backbone.layers.0.attn.qkv.weight'][0] == pytest.approx(BASE_LR * 0.25)
    assert settings['backbone.layers.1.mlp.fc2.bias'][0] == pytest.approx(BASE_LR * 0.5)
    for name, (lr, _) in settings.items():
        assert lr == pytest.approx(expected_lr(name)), name
    assert any(name.startswith('neck.') for name in settings) and any(name.startswith('head.') for name in settings)


@pytest.mark.parametrize('paramwise_cfg', [None, dict(layer_decay_rate=1.0)])
@pytest.mark.parametrize('via', ['call', VIA_ADD_PARAMS])
def test_rate_one_keeps_the_base_learning_rate(model, paramwise_cfg, via):
    """Without layer decay every parameter keeps the base learning rate."""
    settings = settings_by_name(model, parameter_groups(model, paramwise_cfg, via))
    assert {lr for lr, _ in settings.values()} == {BASE_LR}


def test_groups_record_their_scale_and_names(model):
    """Each group carries ``lr_scale`` consistent with its lr and the names of its parameters."""
    groups = parameter_groups(model, dict(layer_decay_rate=0.5), 'add_params')
    assert len(groups) == 2 * (NUM_LAYERS + 2)
    for group in groups:
        assert group['lr'] == pytest.approx(BASE_LR * group['lr_scale'])
        assert len(group['param_names']) == len(group['params'])


@pytest.mark.parametrize(
    'paramwise_cfg, message',
    [
        (dict(custom_keys={'backbone': dict(lr_mult=0.1)}), r"unknown keys \['custom_keys'\]"),
        (dict(layer_decay_rate=0.5, norm_decay_mult=0.0), r"unknown keys \['norm_decay_mult'\]"),
        (dict(layer_decay_rate=0.0), r'layer_decay_rate must be in \(0, 1\], got 0.0'),
        (dict(layer_decay_rate=-0.5), r'layer_decay_rate must be in \(0, 1\], got -0.5'),
        (dict(layer_decay_rate=1.5), r'layer_decay_rate must be in \(0, 1\], got 1.5'),
    ],
)
def test_invalid_paramwise_cfg_is_rejected(paramwise_cfg, message):
    """Unknown paramwise keys and a rate outside (0, 1] raise ValueError."""
    with pytest.raises(ValueError, match=message):
        build_constructor(paramwise_cfg)


@pytest.mark.parametrize('via', [VIA_CALL, VIA_ADD_PARAMS])
def test_layer_decay_without_layer_depth_is_rejected(via):
    """Layer decay on a model without ``get_layer_depth`` (a plain Linear) raises ValueError."""
    with pytest.raises(ValueError, match=r'layer_decay_rate < 1 needs a backbone with get_layer_depth'):
        parameter_groups(torch.nn.Linear(4, 3), dict(layer_decay_rate=0.9), via)


@pytest.mark.parametrize('via', ['call', VIA_ADD_PARAMS])
def test_plain_model_without_layer_decay_works(via):
    """Without layer decay a plain Linear gets its weight decayed and its bias not, both at the base lr."""
    linear = torch.nn.Linear(4, 3)
    settings = settings_by_name(linear, parameter_groups(linear, None, via))
    assert settings['weight'] == (BASE_LR, BASE_WD)
    assert settings['bias'][0] == BASE_LR


@pytest.mark.parametrize('via', [VIA_CALL, VIA_ADD_PARAMS])
def test_plain_model_bias_gets_no_weight_decay(via):
    """A plain Linear's 1-D bias gets weight decay 0."""
    linear = torch.nn.Linear(4, 3)
    settings = settings_by_name(linear, parameter_groups(linear, None, via))
    assert settings['bias'] == (BASE_LR, 0.0)


@pytest.mark.parametrize('via', [VIA_CALL, VIA_ADD_PARAMS])
def test_frozen_parameters_are_left_out(model, via):
    """Parameters with ``requires_grad=False`` are in no group; all the others are."""
    model.backbone.patch_embed.requires_grad_(False)
    model.backbone.cls_token.requires_grad_(False)
    settings = settings_by_name(model, parameter_groups(model, dict(layer_decay_rate=0.5), via))
    frozen = {'backbone.patch_embed.weight', 'backbone.patch_embed.bias', 'backbone.cls_token'}
    assert set(settings) == {name for name, _ in model.named_parameters()} - frozen


def test_adamw_on_cpu_is_fused_unless_the_config_chooses(model):
    assert build_constructor()(model).optimizer.defaults['fused'] is True
    chosen = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='cae_mm.LayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                type='OptimWrapper', optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=BASE_WD, foreach=False)
            ),
        )
    )
    assert not chosen(model).optimizer.defaults['fused']
