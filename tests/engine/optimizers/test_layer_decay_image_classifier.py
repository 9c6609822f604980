"""The layer-decay constructor on mmpretrain's ImageClassifier, built the way the Runner builds it."""

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

import cae_mm  # noqa: F401  (registers cae_mm's modules)
from tests.conftest import tiny_classifier

BASE_LR = 1e-3


def settings_by_name(model, optim_wrapper) -> dict[str, dict]:
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    return {
        names[id(parameter)]: group for group in optim_wrapper.optimizer.param_groups for parameter in group['params']
    }


def test_fine_tuning_groups_decay_by_block_and_give_the_head_the_full_lr():
    """Rate .65 over 2 blocks: patch embedding/cls .65**3, block 0 and its relative position bias .65**2, block 1
    .65, the head's norm and Linear 1; weight decay on 2-D weights (the bias table too) but not on the cls token."""
    model = tiny_classifier(
        dict(out_type='avg_featmap', final_norm=False, relative_position_bias_grid=(4, 4)),
        dict(type='cae_mm.FineTuningHead', num_classes=3, in_channels=64),
    )
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            constructor='cae_mm.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.65),
            optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=0.05),
        ),
    )
    groups = settings_by_name(model, optim_wrapper)
    assert set(groups) == {name for name, _ in model.named_parameters()}
    expected_scale = {
        'backbone.patch_embed.weight': 0.65**3,
        'backbone.cls_token': 0.65**3,
        'backbone.layers.0.attn.qkv.weight': 0.65**2,
        'backbone.relative_position_bias.0.table': 0.65**2,
        'backbone.layers.1.mlp.fc2.bias': 0.65,
        'backbone.relative_position_bias.1.table': 0.65,
        'head.norm.weight': 1.0,
        'head.fc.weight': 1.0,
    }
    for name, scale in expected_scale.items():
        assert groups[name]['lr'] == pytest.approx(BASE_LR * scale), name
    decayed = {name for name, group in groups.items() if group['weight_decay'] > 0}
    assert {'head.fc.weight', 'backbone.relative_position_bias.0.table', 'backbone.layers.1.attn.qkv.weight'} <= decayed
    assert not decayed & {'backbone.cls_token', 'head.fc.bias', 'head.norm.weight', 'backbone.layers.0.gamma_1'}


def test_linear_probe_lars_adapts_the_weight_but_not_the_bias():
    """With the encoder frozen only the classifier is optimised; one LARS step moves the weight by
    lr * eta * |w| / |g| * g and the bias by lr * g (biases are left out of the trust ratio)."""
    model = tiny_classifier(
        dict(out_type='cls_token', frozen_stages=2), dict(type='cae_mm.LinearProbeHead', num_classes=3, in_channels=64)
    )
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            constructor='cae_mm.LayerDecayOptimWrapperConstructor',
            optimizer=dict(type='LARS', lr=BASE_LR, momentum=0.9, weight_decay=0.0),
        ),
    )
    groups = settings_by_name(model, optim_wrapper)
    assert set(groups) == {'head.fc.weight', 'head.fc.bias'}
    assert not groups['head.fc.weight']['lars_exclude'] and groups['head.fc.bias']['lars_exclude']

    samples = [DataSample().set_gt_label(label) for label in (0, 1, 2, 1)]
    weight, bias = model.head.fc.weight, model.head.fc.bias
    with torch.no_grad():
        bias.fill_(0.5)
    before_weight, before_bias = weight.detach().clone(), bias.detach().clone()
    model.loss(torch.randn(4, 3, 32, 32), samples)['loss'].backward()
    weight_gradient, bias_gradient = weight.grad.clone(), bias.grad.clone()
    optim_wrapper.step()
    trust = 0.001 * before_weight.norm() / weight_gradient.norm()
    torch.testing.assert_close(weight.detach(), before_weight - BASE_LR * trust * weight_gradient)
    torch.testing.assert_close(bias.detach(), before_bias - BASE_LR * bias_gradient)
