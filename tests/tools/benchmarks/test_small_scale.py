"""tools/benchmarks/small_scale.py: the MAE-to-cae_mm encoder mapping is exact, the search recipes are valid configs,
results are written atomically, the report renders what exists and lists what is missing."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / 'tools' / 'benchmarks'))
spec = importlib.util.spec_from_file_location('small_scale', REPO_ROOT / 'tools' / 'benchmarks' / 'small_scale.py')
small_scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(small_scale)


def test_mae_encoder_maps_exactly_onto_a_cae_mm_encoder_without_layer_scale():
    from mmpretrain.models.selfsup.mae import MAEViT

    from cae_mm.models.backbones import CAEVisionTransformer

    torch.manual_seed(0)
    arch = dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=256)
    mae = MAEViT(arch=arch, img_size=32, patch_size=8)
    mae.init_weights()
    mae.eval()
    with torch.no_grad():
        for parameter in mae.parameters():
            if parameter.requires_grad:
                parameter.add_(0.1 * torch.randn_like(parameter))  # every bias non-zero, the key bias included
    encoder = CAEVisionTransformer(arch=dict(arch, layer_scale_init_value=0.0), patch_size=8).eval()
    encoder.load_state_dict(small_scale.mae_backbone_to_cae_mm(mae.state_dict()), strict=True)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = mae(images, None)[-1]  # (2, 1 + 16, 64)
        assert torch.allclose(encoder.forward_encoder(images), expected, atol=1e-5)


@pytest.mark.parametrize(
    'recipe', sorted(name for name, recipe in small_scale.SEARCH_RECIPES.items() if recipe['lines'] is not None)
)
def test_every_search_recipe_is_a_valid_short_run_of_the_benchmark_config(recipe, tmp_path):
    cfg = Config.fromfile(small_scale.search_config(recipe, tmp_path))
    assert cfg.train_cfg.max_iters == small_scale.SEARCH_ITERS
    assert cfg.param_scheduler[-1].end == small_scale.SEARCH_ITERS
    hooks = [hook['type'] for hook in cfg.custom_hooks]
    assert 'cae_mm.FeatureRankHook' in hooks
    assert ('cae_mm.AlignmentWeightWarmupHook' in hooks) == ('lambda-warmup' in recipe)
    from mmpretrain.registry import MODELS

    MODELS.build(cfg.model)  # every key a recipe sets is an argument of the model


def test_evaluation_loads_the_encoder_of_a_checkpoint_and_checks_its_keys(tmp_path):
    trained = small_scale.build_encoder('cae', 0, None)
    state = {key: value + 1 if value.is_floating_point() else value for key, value in trained.state_dict().items()}
    state['target_encoder.cls_token'] = torch.zeros(1)  # a module the method's config does not build
    checkpoint = tmp_path / 'iter_800.pth'
    torch.save(dict(state_dict=state), checkpoint)
    loaded = small_scale.build_encoder('cae', 1, checkpoint)
    for key, value in loaded.backbone.state_dict().items():
        assert torch.equal(value, state[f'backbone.{key}']), key
    del state['backbone.cls_token']
    torch.save(dict(state_dict=state), checkpoint)
    with pytest.raises(RuntimeError, match='missing encoder keys.*cls_token'):
        small_scale.build_encoder('cae', 1, checkpoint)


def test_results_are_written_atomically(tmp_path):
    path = tmp_path / 'knn' / 'cae_seed0.json'
    small_scale.write_json(path, dict(knn_cls=40.0))
    assert json.loads(path.read_text()) == dict(knn_cls=40.0)
    assert list(path.parent.iterdir()) == [path]


def test_report_renders_results_and_lists_missing_steps(tmp_path):
    from small_scale_report import write_report

    results = tmp_path / 'results'
    for seed, accuracy in ((0, 40.0), (1, 42.0)):
        small_scale.write_json(
            results / 'knn' / f'cae_seed{seed}.json',
            dict(method='cae', seed=seed, knn_cls=accuracy, knn_mean=accuracy, rank_patch=20.0, rank_cls=5.0),
        )
    output = tmp_path / 'page.md'
    write_report(results, output, tmp_path / 'pictures', preamble='# Title', epilogue='## Findings')
    page = output.read_text()
    assert page.startswith('# Title') and page.rstrip().endswith('## Findings')
    assert '41.0 ± 1.4 (2 seeds)' in page
    assert 'python tools/benchmarks/small_scale.py pretrain cae 0' in page
    assert 'python tools/benchmarks/small_scale.py knn cae 0' not in page
    assert 'python tools/benchmarks/small_scale.py knn mae 2' in page


def test_a_search_run_is_adopted_only_by_the_method_whose_config_it_is(tmp_path):
    import argparse

    args = argparse.Namespace(results=tmp_path / 'results', work_root=tmp_path / 'work')
    search = dict(
        command='tools/train.py search_lr3.75e-4.py',
        checkpoint='iter_800.pth',
        checkpoint_sha256='0' * 64,
        loss_curve=[],
        rank_curve=[],
        train_seconds=1.0,
        machine={},
        wall_s_this_call=2.0,
    )
    small_scale.write_json(args.results / 'search' / 'lr3.75e-4.json', search)
    with pytest.raises(ValueError, match=r"not the 'cae_lambda0' config: they differ in \['model'\]"):
        small_scale.step_adopt('cae_lambda0', 'lr3.75e-4', args)
    with pytest.raises(ValueError, match='lambda0.json is missing'):
        small_scale.step_adopt('cae_lambda0', 'lambda0', args)
    small_scale.step_adopt('cae', 'lr3.75e-4', args)
    adopted = json.loads((args.results / 'pretrain' / 'cae_seed0.json').read_text())
    assert adopted['adopted_from_search'] == 'lr3.75e-4' and adopted['checkpoint'] == 'iter_800.pth'
    assert adopted['wall_s'] == 2.0


def test_publish_records_the_release_of_the_recorded_checkpoint_only(tmp_path):
    """The release holds the checkpoint's weights and its sha256 is recorded; a checkpoint that is not the one the
    pretraining recorded is refused; the MAE peer is not published."""
    model = small_scale.build_encoder('cae', 0, None)
    checkpoint = tmp_path / 'work' / 'cae_seed0' / 'iter_800.pth'
    checkpoint.parent.mkdir(parents=True)
    torch.save(dict(meta=dict(iter=800), state_dict=model.state_dict(), optimizer={}), checkpoint)
    results = tmp_path / 'results'
    small_scale.write_json(
        results / 'pretrain' / 'cae_seed0.json',
        dict(checkpoint=str(checkpoint), checkpoint_sha256=small_scale.sha256(checkpoint)),
    )
    args = small_scale.argparse.Namespace(results=results, work_root=tmp_path / 'work')
    small_scale.step_publish('cae', 0, args)
    record = json.loads((results / 'publish' / 'cae_seed0.json').read_text())
    release = tmp_path / 'work' / 'release' / record['release']
    assert record['sha256'] == small_scale.sha256(release) and record['sha256'][:8] in release.name
    released = torch.load(release, weights_only=True)['state_dict']
    assert released.keys() == model.state_dict().keys()

    torch.save(dict(state_dict={}), checkpoint)  # overwritten after the pretraining recorded it
    small_scale.write_json(
        results / 'pretrain' / 'cae_seed1.json',
        dict(checkpoint=str(checkpoint), checkpoint_sha256=record['source_sha256']),
    )
    with pytest.raises(RuntimeError, match='not the checkpoint the pretraining recorded'):
        small_scale.step_publish('cae', 1, args)
    small_scale.step_publish('mae', 0, args)
    assert not (results / 'publish' / 'mae_seed0.json').exists()
