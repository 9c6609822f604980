"""A user's own config inheriting a downstream tiny twin by path and loading a pretrained encoder, as the twins'
comments and docs/downstream.md say to write it."""

import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope, init_default_scope

from cae_mm.models.backbones import CAEVisionTransformer
from tests.conftest import REPO_ROOT
from tests.downstream.runs import MASK_RCNN_TEST, UPERNET_TEST


def write_pretrained_encoder(path: Path, encoder: dict) -> dict[str, torch.Tensor]:
    """A backbone state dict under ``backbone.`` for the twin's encoder, with weights no initialisation gives."""
    weights = {name: torch.randn_like(value) for name, value in CAEVisionTransformer(**encoder).state_dict().items()}
    torch.save(dict(state_dict={f'backbone.{name}': value for name, value in weights.items()}), path)
    return weights


def build_backbone(cfg: Config) -> torch.nn.Module:
    init_default_scope(cfg.default_scope)
    try:
        from mmengine.registry import MODELS

        backbone = MODELS.build(cfg.model.backbone)
        backbone.init_weights()
    finally:
        DefaultScope._instance_dict.clear()
    return backbone


@pytest.mark.parametrize('twin', [MASK_RCNN_TEST, UPERNET_TEST], ids=['mask_rcnn', 'upernet'])
def test_child_config_of_a_tiny_twin_loads_a_pretrained_encoder(tmp_path, twin):
    """``init_cfg=dict(_delete_=True, type='Pretrained', ...)`` in a child config replaces the twin's None and loads
    every encoder tensor; without ``_delete_`` mmengine refuses to merge a dict into None (the documented error)."""
    checkpoint = tmp_path / 'backbone.pth'
    encoder = Config.fromfile(twin).model.backbone.encoder.to_dict()
    weights = write_pretrained_encoder(checkpoint, encoder)

    child = tmp_path / 'my_config.py'
    child.write_text(
        f"_base_ = ['{twin}']\n"
        'model = dict(backbone=dict(init_cfg=dict(\n'
        f"    _delete_=True, type='Pretrained', checkpoint='{checkpoint}', prefix='backbone.')))\n"
    )
    cfg = Config.fromfile(child)
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')
    loaded = build_backbone(cfg).encoder.state_dict()
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[name], weights[name]) for name in weights)

    no_delete = tmp_path / 'no_delete.py'
    no_delete.write_text(
        f"_base_ = ['{twin}']\n"
        f"model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='{checkpoint}')))\n"
    )
    with pytest.raises(TypeError, match='init_cfg is a dict in the child config but is of type'):
        Config.fromfile(no_delete)


def test_command_line_sets_a_pretrained_encoder_on_a_tiny_twin(tmp_path):
    """The same from the command line: ``--cfg-options model.backbone.init_cfg._delete_=True ...``."""
    checkpoint = tmp_path / 'backbone.pth'
    encoder = Config.fromfile(MASK_RCNN_TEST).model.backbone.encoder.to_dict()
    weights = write_pretrained_encoder(checkpoint, encoder)
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
    namespace = type('Namespace', (), {})()
    action(
        None,
        namespace,
        [
            'model.backbone.init_cfg._delete_=True',
            'model.backbone.init_cfg.type=Pretrained',
            f'model.backbone.init_cfg.checkpoint={checkpoint}',
            'model.backbone.init_cfg.prefix=backbone.',
        ],
    )
    cfg = Config.fromfile(MASK_RCNN_TEST)
    cfg.merge_from_dict(namespace.cfg_options)
    loaded = build_backbone(cfg).encoder.state_dict()
    assert all(torch.equal(loaded[name], weights[name]) for name in weights)


def test_documented_custom_dataset_config_changes_what_it_says(tmp_path):
    """docs/downstream.md's own-dataset example, read by mmengine with the clone's path: classes, heads, data,
    pipelines on the datasets, evaluator and schedule are the user's; the rest is the inherited recipe."""
    docs = (REPO_ROOT / 'docs' / 'downstream.md').read_text()
    example = re.search(r'```python\n(# my_configs/.*?)```', docs, re.DOTALL).group(1)
    assert "_base_ = ['/path/to/cae_mm/configs/" in example
    config = tmp_path / 'pets.py'
    config.write_text(example.replace('/path/to/cae_mm', str(REPO_ROOT)))
    cfg = Config.fromfile(config)
    assert cfg.model.roi_head.bbox_head.num_classes == 2 and cfg.model.roi_head.mask_head.num_classes == 2
    assert cfg.model.backbone.type == 'cae_mm.MultiScaleVisionTransformer'
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    for loader, pipeline, annotations in (
        (cfg.train_dataloader, cfg.train_pipeline, 'annotations/train.json'),
        (cfg.val_dataloader, cfg.test_pipeline, 'annotations/val.json'),
        (cfg.test_dataloader, cfg.test_pipeline, 'annotations/val.json'),
    ):
        assert loader.dataset.data_root == 'data/pets/' and loader.dataset.ann_file == annotations
        assert loader.dataset.metainfo.classes == ('cat', 'dog')
        assert loader.dataset.pipeline == pipeline
    assert cfg.val_evaluator.ann_file == cfg.test_evaluator.ann_file == 'data/pets/annotations/val.json'
    assert cfg.train_cfg.max_epochs == 24 and cfg.param_scheduler[1].milestones == [16, 22]
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.75
