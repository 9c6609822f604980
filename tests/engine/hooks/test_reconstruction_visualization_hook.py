"""ReconstructionVisualizationHook: pictures in the work dir and the visualizer, and an unchanged training run."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from cae_mm.checkpoints import read_checkpoint
from cae_mm.engine.hooks import ReconstructionVisualizationHook
from cae_mm.registry import MODELS
from cae_mm.visualization.pictures import default_scale, grid_shape
from tests.conftest import TEST_CONFIG, tiny_cae_config
from tests.engine.hooks.training_run import train_test_config


def train(work_dir: Path, data_root: Path, with_hook: bool, max_iters: int = 4) -> Runner:
    hook = dict(type='cae_mm.ReconstructionVisualizationHook', interval=3, num_images=3) if with_hook else None
    return train_test_config(work_dir, data_root, hook, max_iters, logger_interval=100)


def test_pictures_are_saved_and_training_is_unchanged(tmp_path, demo_data_root):
    """Pictures after iterations 3 and 4 (the last), in the work dir and the visualizer's backend; the final weights
    equal, bit for bit, those of the same run without the hook."""
    assert Config.fromfile(TEST_CONFIG).model.backbone.drop_path_rate > 0
    runner = train(tmp_path / 'with_hook', demo_data_root, with_hook=True)
    train(tmp_path / 'without_hook', demo_data_root, with_hook=False)

    pictures = sorted((tmp_path / 'with_hook' / 'reconstructions').glob('*.png'))
    assert [path.name for path in pictures] == ['iter_3.png', 'iter_4.png']
    panel = 64 * default_scale(64)
    for path in pictures:
        picture = np.asarray(Image.open(path))
        assert picture.shape == (*grid_shape(3, 4, panel, panel), 3)
        assert picture.std() > 0
    (backend_picture,) = Path(runner.log_dir).glob('vis_data/vis_image/reconstruction_4.png')
    assert np.array_equal(np.asarray(Image.open(backend_picture)), np.asarray(Image.open(pictures[-1])))

    with_hook = read_checkpoint(tmp_path / 'with_hook' / 'iter_4.pth')['state_dict']
    without_hook = read_checkpoint(tmp_path / 'without_hook' / 'iter_4.pth')['state_dict']
    for key, value in without_hook.items():
        assert torch.equal(with_hook[key], value), key


def test_pictures_follow_the_weights(tmp_path, demo_data_root):
    """The fixed batch is the same every time, so two pictures differ only because the weights changed."""
    runner = train(tmp_path, demo_data_root, with_hook=True, max_iters=1)
    (hook,) = [hook for hook in runner.hooks if isinstance(hook, ReconstructionVisualizationHook)]
    first = np.asarray(Image.open(hook.save_picture(runner, 100)))
    assert np.array_equal(first, np.asarray(Image.open(hook.save_picture(runner, 101))))
    with torch.no_grad():
        runner.model.head.predictor.bias.add_(1.0)
    assert not np.array_equal(first, np.asarray(Image.open(hook.save_picture(runner, 102))))


def test_a_model_without_pixel_targets_is_refused():
    """Token ids have no picture: the hook says it needs a pixel target before training starts."""
    model = MODELS.build(tiny_cae_config())
    model.target_generator = torch.nn.Identity()  # stands for a tokenizer, whose weights the tests do not have
    with pytest.raises(ValueError, match='pixel-target CAE'):
        ReconstructionVisualizationHook(interval=1).before_train(SimpleNamespace(model=model))


@pytest.mark.parametrize('arguments', [dict(interval=0), dict(num_images=0)])
def test_bad_settings_are_refused(arguments):
    with pytest.raises(ValueError, match='must be positive'):
        ReconstructionVisualizationHook(**arguments)
