"""Linear probe, attentive probe and fine-tuning configs: the official recipes, and tiny twins that train and evaluate
on real labelled digits through mmengine's Runner."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from cae_mm.checkpoints import read_checkpoint
from cae_mm.registry import MODELS
from tests.conftest import CONFIG_ROOT, tiny_cae_config

LINEAR = CONFIG_ROOT / 'linear_probe'
ATTENTIVE = CONFIG_ROOT / 'attentive_probe'
FINE_TUNE = CONFIG_ROOT / 'fine_tune'
TWINS = {
    'linear': LINEAR / 'cae_vit-test-p4_1xb64-linear-probe-lars-2e_digits_test.py',
    'attentive': ATTENTIVE / 'cae_vit-test-p4_1xb64-attentive-probe-sgd-2e_digits_test.py',
    'fine_tune': FINE_TUNE / 'cae_vit-test-p4_1xb64-fine-tune-2e_digits_test.py',
}
SIZES = {'small': (384, 12, 12), 'base': (768, 12, 12), 'large': (1024, 24, 16)}
AUGMENTATIONS = {'ColorJitter', 'RandAugment', 'RandomErasing', 'AutoAugment'}


def imagenet_config(folder: Path, size: str) -> Config:
    (path,) = folder.glob(f'cae_vit-{size}-p16_*_in1k.py')
    return Config.fromfile(path)


def pipeline_types(cfg: Config) -> set[str]:
    return {step['type'] for step in cfg.train_dataloader.dataset.pipeline}


def schedule(cfg: Config) -> tuple[float, float, float]:
    """(warmup epochs, total epochs, cosine floor relative to the lr) from the two-step scheduler."""
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and cosine.type == 'CosineAnnealingLR'
    assert warmup.end == cosine.begin and cosine.end == cfg.train_cfg.max_epochs
    floor = cosine.get('eta_min_ratio', cosine.get('eta_min', 0) / cfg.optim_wrapper.optimizer.lr)
    return warmup.end, cosine.end, floor


@pytest.mark.parametrize('size', SIZES)
def test_linear_probe_recipe(size):
    """Frozen encoder (eval mode), cls token after the final norm; LARS .9, lr .1 x 16384 / 256, wd 0, 90 epochs with
    10 warmup, cosine to 0; no drop path, colour jitter, RandAugment, erasing or Mixup/CutMix."""
    cfg = imagenet_config(LINEAR, size)
    width, depth, _ = SIZES[size]
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.frozen_stages, backbone.out_type) == (size, depth, 'cls_token')
    assert backbone.final_norm
    assert backbone.drop_path_rate == 0 and backbone.init_cfg.prefix == 'backbone.'
    assert cfg.model.head.type == 'cae_mm.LinearProbeHead' and cfg.model.head.in_channels == width
    optimizer = cfg.optim_wrapper.optimizer
    total_batch = 32 * cfg.train_dataloader.batch_size
    assert (optimizer.type, optimizer.momentum, optimizer.weight_decay) == ('LARS', 0.9, 0.0)
    assert total_batch == cfg.auto_scale_lr.base_batch_size == 16384
    assert optimizer.lr == pytest.approx(0.1 * total_batch / 256)
    assert schedule(cfg) == (10, 90, 0.0)
    assert not pipeline_types(cfg) & AUGMENTATIONS and 'train_cfg' not in cfg.model


@pytest.mark.parametrize('size', SIZES)
def test_attentive_probe_recipe(size):
    """Frozen encoder giving all tokens; SGD .9, lr .4 at 8192, wd 0, 90 epochs with 10 warmup; no augmentation."""
    cfg = imagenet_config(ATTENTIVE, size)
    width, depth, heads = SIZES[size]
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.frozen_stages, backbone.out_type, backbone.final_norm) == (size, depth, 'raw', True)
    head = cfg.model.head
    assert (head.type, head.in_channels, head.num_heads) == ('cae_mm.AttentiveProbeHead', width, heads)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum, optimizer.weight_decay) == ('SGD', 0.4, 0.9, 0.0)
    assert 32 * cfg.train_dataloader.batch_size == cfg.auto_scale_lr.base_batch_size == 8192
    warmup, epochs, floor = schedule(cfg)
    assert (warmup, epochs) == (10, 90) and floor * 0.4 == pytest.approx(1e-6)
    assert not pipeline_types(cfg) & AUGMENTATIONS and 'train_cfg' not in cfg.model


@pytest.mark.parametrize(
    'size,lr,total_batch,epochs,warmup,layer_decay,drop_path',
    [
        ('base', 8e-3, 4096, 100, 5, 0.65, 0.1),
        ('large', 2e-3, 4096, 50, 5, 0.75, 0.2),
        ('small', 4e-4, 1024, 200, 20, 0.75, 0.1),
    ],
)
def test_fine_tuning_recipe(size, lr, total_batch, epochs, warmup, layer_decay, drop_path):
    """BEiT protocol: AdamW wd .05, layer decay, warmup and cosine to 1e-6; relative position bias, mean pooling with
    the head's norm, head x0.001; Mixup .8 / CutMix 1, smoothing .1, random erasing .25, RandAugment m9."""
    cfg = imagenet_config(FINE_TUNE, size)
    width, _, _ = SIZES[size]
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('AdamW', lr, 0.05)
    assert tuple(optimizer.betas) == (0.9, 0.999)
    assert cfg.optim_wrapper.constructor == 'cae_mm.LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == layer_decay
    accumulation = cfg.optim_wrapper.get('accumulative_counts', 1)
    gpus = int(Path(cfg.filename).stem.split('_')[2].split('xb')[0])
    assert gpus * cfg.train_dataloader.batch_size * accumulation == total_batch == cfg.auto_scale_lr.base_batch_size
    warmup_epochs, total_epochs, floor = schedule(cfg)
    assert (warmup_epochs, total_epochs) == (warmup, epochs) and floor * lr == pytest.approx(1e-6)
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.drop_path_rate, backbone.out_type, backbone.final_norm) == (
        size,
        drop_path,
        'avg_featmap',
        False,
    )
    assert tuple(backbone.relative_position_bias_grid) == (14, 14)
    head = cfg.model.head
    assert (head.type, head.in_channels, head.init_scale) == ('cae_mm.FineTuningHead', width, 0.001)
    assert (head.loss.type, head.loss.label_smooth_val) == ('LabelSmoothLoss', 0.1)
    assert [(augment.type, augment.alpha) for augment in cfg.model.train_cfg.augments] == [
        ('Mixup', 0.8),
        ('CutMix', 1.0),
    ]
    erasing = next(step for step in cfg.train_dataloader.dataset.pipeline if step['type'] == 'RandomErasing')
    assert erasing.erase_prob == 0.25 and erasing.mode == 'rand'
    rand_augment = next(step for step in cfg.train_dataloader.dataset.pipeline if step['type'] == 'RandAugment')
    assert (rand_augment.magnitude_level, rand_augment.magnitude_std, rand_augment.num_policies) == (9, 0.5, 2)
    assert 'ColorJitter' not in pipeline_types(cfg)


@pytest.mark.parametrize('folder', [LINEAR, ATTENTIVE, FINE_TUNE], ids=lambda folder: folder.name)
@pytest.mark.parametrize('size', SIZES)
def test_default_checkpoint_is_the_output_of_a_pretraining_config(folder, size):
    """The default encoder checkpoint is the last checkpoint of the paper's CAE pretraining (DALL-E targets) of the
    same size."""
    checkpoint = Path(imagenet_config(folder, size).model.backbone.init_cfg.checkpoint)
    assert checkpoint.parts[0] == 'work_dirs'
    pretraining = Config.fromfile(CONFIG_ROOT / 'cae' / f'{checkpoint.parts[1]}.py')
    assert pretraining.model.backbone.arch == size
    assert pretraining.model.target_generator.type == 'cae_mm.DALLETokenizer'
    assert checkpoint.name == f'epoch_{pretraining.train_cfg.max_epochs}.pth'


@pytest.fixture(scope='module')
def pretrained_checkpoint(tmp_path_factory):
    """A tiny CAE (4 px patches) with perturbed weights, saved as a full model checkpoint; returns (model, path)."""
    model = MODELS.build(tiny_cae_config(patch_size=4))
    with torch.no_grad():
        for parameter in model.backbone.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    path = tmp_path_factory.mktemp('tiny_cae') / 'cae.pth'
    torch.save(dict(meta=dict(iter=1), state_dict=model.state_dict()), path)
    return model, path


def twin_runner(protocol: str, digits: Path, work_dir: Path, **options) -> Runner:
    """The tiny twin on every 10th training image (all 10 classes, 2 steps per epoch) and every 7th validation one."""
    cfg = Config.fromfile(TWINS[protocol])
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': str(digits),
            'train_dataloader.dataset.indices': list(range(0, 1347, 10)),
            'val_dataloader.dataset.data_root': str(digits),
            'val_dataloader.dataset.indices': list(range(0, 450, 7)),
            'test_dataloader.dataset.data_root': str(digits),
            'test_dataloader.dataset.indices': list(range(0, 450, 7)),
            **options,
        }
    )
    cfg.work_dir = str(work_dir)
    DefaultScope._instance_dict.clear()
    return Runner.from_cfg(cfg)


@pytest.mark.slow
@pytest.mark.parametrize('protocol', TWINS)
def test_twin_trains_and_evaluates_from_a_pretrained_cae(protocol, digits, pretrained_checkpoint, tmp_path):
    """Each twin loads the CAE encoder, trains 2 epochs and reports a validation accuracy; the probes leave the encoder
    exactly as loaded, fine-tuning changes it; the test loop (same images) gives the same accuracy."""
    cae, path = pretrained_checkpoint
    runner = twin_runner(protocol, digits, tmp_path, **{'model.backbone.init_cfg.checkpoint': str(path)})
    runner.train()
    accuracy = runner.message_hub.get_scalar('val/accuracy/top1').current()
    assert 0 <= accuracy <= 100
    trained = read_checkpoint(tmp_path / 'epoch_2.pth')['state_dict']
    pretrained = cae.backbone.state_dict()
    changed = [
        key
        for key, value in pretrained.items()
        if f'backbone.{key}' in trained and not torch.equal(trained[f'backbone.{key}'], value)
    ]
    if protocol == 'fine_tune':
        assert 'layers.0.attn.qkv.weight' in changed and 'patch_embed.weight' in changed
        assert 'backbone.norm.weight' not in trained  # mean pooling uses the head's norm instead
        assert trained['backbone.relative_position_bias.0.table'].abs().sum() > 0
    else:
        assert changed == []
    assert runner.test()['accuracy/top1'] == pytest.approx(accuracy)


@pytest.mark.slow
def test_twin_from_a_random_encoder_and_a_class_count_mismatch(digits, tmp_path):
    """init_cfg=None probes a random encoder; a head with fewer classes than the digits fails with a clear error."""
    runner = twin_runner('linear', digits, tmp_path / 'random', **{'model.backbone.init_cfg': None})
    runner.train()
    assert 0 <= runner.message_hub.get_scalar('val/accuracy/top1').current() <= 100
    too_few = twin_runner(
        'attentive',
        digits,
        tmp_path / 'too_few',
        **{'model.backbone.init_cfg': None, 'model.head.num_classes': 5, 'model.data_preprocessor.num_classes': 5},
    )
    with pytest.raises(ValueError, match="outside the head's 5 classes"):
        too_few.train()
