"""The tokenizer-target configs: the paper's DALL-E setting, the d-VAE option, and mmpretrain's variant reproduced."""

import json
import subprocess
import sys
from pathlib import Path

import mmpretrain
import pytest
import torch
from mmengine.config import Config

from cae_mm.checkpoints import read_checkpoint
from cae_mm.models.targets import TokenizerWeightsError
from cae_mm.registry import MODELS
from tests.conftest import CONFIG_ROOT, REPO_ROOT
from tests.models.targets.dalle_files import random_dalle_state_dict

DALLE_CONFIGS = sorted((CONFIG_ROOT / 'cae').glob('cae_vit-*-p16_32xb64-dalle-*_in1k.py'))
MMPRETRAIN_VARIANT = CONFIG_ROOT / 'cae' / 'cae_vit-base-p16_8xb256-dalle-mmpretrain-300e_in1k.py'
MMPRETRAIN_CAE_CONFIG = (
    Path(mmpretrain.__file__).parent / '.mim' / 'configs' / 'cae' / 'cae_beit-base-p16_8xb256-amp-coslr-300e_in1k.py'
)
DALLE_TEST_CONFIG = CONFIG_ROOT / 'cae' / 'cae_vit-test-p8_1xb4-dalle-8i_test.py'


def pipeline_step(cfg: Config, type_name: str) -> dict:
    return next(step for step in cfg.train_dataloader.dataset.pipeline if step['type'] == type_name)


def test_there_are_dalle_configs_for_small_base_and_large():
    assert sorted(path.name.split('-')[1] for path in DALLE_CONFIGS) == ['base', 'base', 'base', 'large', 'small']


@pytest.mark.parametrize('path', DALLE_CONFIGS, ids=lambda path: path.name)
def test_dalle_configs_carry_the_papers_target_setting(path):
    """DALL-E ids (8192 classes, cross-entropy) from a 112 px lanczos view of the same crop, map_pixels, 98 masked."""
    cfg = Config.fromfile(path)
    assert cfg.model.target_generator == dict(
        type='cae_mm.DALLETokenizer', checkpoint='data/tokenizers/dalle_encoder.pth', vocab_size=8192
    )
    assert cfg.model.head.out_dims == 8192 and cfg.model.head.reconstruction_loss == 'cross_entropy'
    preprocessor = cfg.model.data_preprocessor
    assert preprocessor.type == 'TwoNormDataPreprocessor' and preprocessor.to_rgb
    assert preprocessor.second_mean == [-31.875] * 3 and preprocessor.second_std == [318.75] * 3
    crop = pipeline_step(cfg, 'cae_mm.TwoViewRandomResizedCrop')
    assert (crop.size, crop.second_size, crop.interpolation, crop.second_interpolation) == (
        224,
        112,
        'bicubic',
        'lanczos',
    )
    assert tuple(crop.scale) == (0.08, 1.0)
    assert pipeline_step(cfg, 'cae_mm.BlockwiseMaskGenerator').num_masked_patches == 98
    assert cfg.model.backbone.drop_path_rate == 0.1
    width = {'small': 384, 'base': 768, 'large': 1024}[cfg.model.backbone.arch]
    assert cfg.model.neck.embed_dims == cfg.model.head.embed_dims == width


def test_dvae_config_swaps_the_tokenizer_and_its_normalisation():
    cfg = Config.fromfile(CONFIG_ROOT / 'cae' / 'cae_vit-base-p16_32xb64-dvae-300e_in1k.py')
    assert cfg.model.target_generator == dict(
        type='cae_mm.DiscreteVAETokenizer', checkpoint='data/tokenizers/dvae_8192.pth'
    )
    assert cfg.model.data_preprocessor.second_mean == [127.5] * 3
    assert cfg.model.data_preprocessor.second_std == [127.5] * 3
    assert cfg.model.head.out_dims == 8192


def test_missing_tokenizer_file_of_a_real_config_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(DALLE_CONFIGS[0])
    with pytest.raises(TokenizerWeightsError, match='not found at data/tokenizers/dalle_encoder.pth'):
        MODELS.build(cfg.model.target_generator)


def test_mmpretrain_variant_reproduces_mmpretrains_own_config():
    """Data, masking, normalisation, sizes, losses, optimizer and schedule equal mmpretrain 1.2's CAE config."""
    ours, theirs = Config.fromfile(MMPRETRAIN_VARIANT), Config.fromfile(MMPRETRAIN_CAE_CONFIG)
    ours_pipeline, theirs_pipeline = ours.train_dataloader.dataset.pipeline, theirs.train_dataloader.dataset.pipeline
    # The one intended difference: cae_mm's loader refuses oversized images from their header before decoding.
    assert ours_pipeline[0] == dict(theirs_pipeline[0], type='cae_mm.LoadImageWithPixelLimit')
    assert ours_pipeline[1:] == theirs_pipeline[1:]
    assert ours.train_dataloader.batch_size == theirs.train_dataloader.batch_size == 256
    assert ours.model.data_preprocessor == theirs.data_preprocessor
    mask_count = pipeline_step(ours, 'BEiTMaskGenerator').num_masking_patches
    assert mask_count == 75 == theirs.model.neck.get('mask_tokens_num', 75)
    for part in ('backbone', 'neck', 'head'):
        assert ours.model[part].drop_path_rate == 0.0
    assert theirs.model.backbone.get('drop_path_rate', 0.0) == theirs.model.neck.get('drop_path_rate', 0.0) == 0.0
    assert ours.model.backbone.arch == 'base' and theirs.model.backbone.arch == 'b'
    assert ours.model.neck.depth == theirs.model.neck.regressor_depth
    assert ours.model.head.depth == theirs.model.neck.decoder_depth
    assert ours.model.neck.embed_dims == ours.model.head.embed_dims == theirs.model.neck.embed_dims
    assert ours.model.neck.num_heads == ours.model.head.num_heads == theirs.model.neck.num_heads
    assert (
        ours.model.neck.layer_scale_init_value
        == ours.model.head.layer_scale_init_value
        == theirs.model.neck.layer_scale_init_value
        == theirs.model.backbone.layer_scale_init_value
    )
    assert ours.model.head.alignment_weight == theirs.model.head.loss.lambd
    assert ours.model.head.out_dims == 8192
    optimizer, their_optimizer = ours.optim_wrapper.optimizer, theirs.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == (
        their_optimizer.type,
        their_optimizer.lr,
        their_optimizer.weight_decay,
    )
    assert tuple(optimizer.betas) == tuple(their_optimizer.betas)
    assert ours.optim_wrapper.clip_grad == theirs.optim_wrapper.clip_grad
    assert ours.optim_wrapper.paramwise_cfg == theirs.optim_wrapper.paramwise_cfg
    assert ours.optim_wrapper.constructor == 'DefaultOptimWrapperConstructor'
    assert 'constructor' not in theirs.optim_wrapper
    assert ours.param_scheduler == theirs.param_scheduler
    assert ours.train_cfg.max_epochs == theirs.train_cfg.max_epochs
    assert ours.auto_scale_lr == theirs.auto_scale_lr
    assert (ours.randomness.seed, ours.randomness.diff_rank_seed) == (
        theirs.randomness.seed,
        theirs.randomness.diff_rank_seed,
    )


@pytest.mark.slow
def test_dalle_tiny_config_trains_with_a_generated_tokenizer_file(tmp_path, demo_data_root):
    """tools/train.py, 8 iterations on the bundled photographs, DALL-E ids from a generated weights file.

    The checkpoint holds no tokenizer weights, and loads back strictly into the config's model.
    """
    tokenizer_file = tmp_path / 'dalle_encoder.pth'
    torch.save(random_dalle_state_dict(hidden=8), tokenizer_file)
    work_dir = tmp_path / 'work'
    command = [
        sys.executable,
        'tools/train.py',
        str(DALLE_TEST_CONFIG),
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root / "images"}',
        f'model.target_generator.checkpoint={tokenizer_file}',
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert 'RANDOM weights' not in completed.stdout + completed.stderr
    (scalars,) = work_dir.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines() if 'loss' in line]
    assert len(records) == 8
    assert all(0 < record['loss_reconstruction'] < 2 * torch.log(torch.tensor(8192.0)) for record in records)
    checkpoint = read_checkpoint(work_dir / 'iter_8.pth')
    assert {key.split('.')[0] for key in checkpoint['state_dict']} == {'backbone', 'neck', 'head'}
    cfg = Config.fromfile(DALLE_TEST_CONFIG)
    cfg.model.target_generator.checkpoint = str(tokenizer_file)
    model = MODELS.build(cfg.model)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
