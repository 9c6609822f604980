"""tools/test.py: evaluates a checkpoint with the config's test loop, loading it strictly."""

import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope, init_default_scope

from cae_mm.checkpoints import CheckpointMismatchError, CheckpointReadError
from tests.conftest import CONFIG_ROOT, REPO_ROOT, tiny_cae_config
from tests.tools.tool_loading import load_tool

CONFIG = CONFIG_ROOT / 'linear_probe' / 'cae_vit-test-p4_1xb64-linear-probe-lars-2e_digits_test.py'
VALIDATION_SUBSET = list(range(0, 450, 5))


def options(digits, *extra: str) -> list[str]:
    return [
        '--cfg-options',
        f'test_dataloader.dataset.data_root={digits}',
        f'test_dataloader.dataset.indices={VALIDATION_SUBSET}'.replace(' ', ''),
        *extra,
    ]


def build_classifier(cfg: Config):
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS

    model = MODELS.build(cfg.model)
    DefaultScope._instance_dict.clear()
    return model


def save_classifier(tmp_path, num_classes: int = 10):
    """A linear-probe classifier of the tiny twin with a trained-looking head, saved as a Runner checkpoint."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.model.head.num_classes = num_classes
    model = build_classifier(cfg)
    with torch.no_grad():
        model.head.fc.weight.normal_()
        model.head.norm.running_mean.normal_()
    path = tmp_path / f'classifier_{num_classes}.pth'
    torch.save(dict(meta=dict(epoch=2), state_dict=model.state_dict()), path)
    return model, path


def expected_accuracy(model, digits) -> float:
    """Top-1 accuracy of ``model`` on the validation subset, computed directly from the dataset and the model."""
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS

    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=str(digits), indices=VALIDATION_SUBSET))
    DefaultScope._instance_dict.clear()
    batch = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(len(dataset))]), False)
    with torch.no_grad():
        predictions = model.eval()(**batch, mode='predict')
    correct = [int(sample.pred_label) == int(sample.gt_label) for sample in predictions]
    return 100 * sum(correct) / len(correct)


@pytest.mark.slow
def test_cli_reports_the_accuracy_of_the_checkpoint(digits, tmp_path):
    """The printed top-1 accuracy equals the accuracy of the saved weights computed directly; logs go to --work-dir."""
    model, path = save_classifier(tmp_path)
    command = [
        sys.executable,
        'tools/test.py',
        str(CONFIG),
        str(path),
        '--work-dir',
        str(tmp_path / 'eval'),
        *options(digits),
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    reported = float(re.search(r'accuracy/top1: ([0-9.]+)\n', completed.stdout).group(1))
    assert reported == pytest.approx(expected_accuracy(model, digits), abs=1e-4)
    assert any((tmp_path / 'eval').iterdir())


def test_class_count_of_checkpoint_config_and_test_set_must_agree(digits, tmp_path):
    """A 10-class checkpoint into a 5-class head, or a 12-class head for the 10 digit classes, is a clear error."""
    test_tool = load_tool('test.py')
    _, path = save_classifier(tmp_path, num_classes=10)
    with pytest.raises(
        CheckpointMismatchError, match=r'class count mismatch: .* trained for 10 classes .*num_classes is 5'
    ):
        test_tool.main(
            [str(CONFIG), str(path), '--work-dir', str(tmp_path / 'a'), *options(digits, 'model.head.num_classes=5')]
        )
    _, path = save_classifier(tmp_path, num_classes=12)
    with pytest.raises(ValueError, match='the test set has 10 classes but model.head.num_classes is 12'):
        test_tool.main(
            [str(CONFIG), str(path), '--work-dir', str(tmp_path / 'b'), *options(digits, 'model.head.num_classes=12')]
        )


def test_checkpoint_of_another_model_lists_the_keys(digits, tmp_path):
    """A CAE pretraining checkpoint is not a classifier: the error names the missing head and the extra neck keys."""
    test_tool = load_tool('test.py')
    cae = build_classifier(Config(dict(model=tiny_cae_config(patch_size=4))))
    path = tmp_path / 'cae.pth'
    torch.save(dict(state_dict=cae.state_dict()), path)
    with pytest.raises(CheckpointMismatchError, match=r'missing keys: head.fc.bias.*unexpected keys: .*neck'):
        test_tool.main([str(CONFIG), str(path), '--work-dir', str(tmp_path / 'c'), *options(digits)])


@pytest.mark.parametrize('content', [{}, [1, 2], torch.ones(3)], ids=['empty', 'list', 'tensor'])
def test_checkpoint_without_weights_is_named(digits, tmp_path, content):
    path = tmp_path / 'empty.pth'
    torch.save(content, path)
    with pytest.raises(CheckpointReadError, match='holds no weights'):
        load_tool('test.py').main([str(CONFIG), str(path), '--work-dir', str(tmp_path / 'd'), *options(digits)])


def test_work_dir_and_options_reach_the_config():
    """--work-dir wins over the default; --cfg-options are merged; nothing is loaded or resumed implicitly."""
    test_tool = load_tool('test.py')
    cfg = test_tool.build_config(
        test_tool.parse_args([str(CONFIG), 'x.pth', '--work-dir', 'w', '--cfg-options', 'test_dataloader.batch_size=7'])
    )
    assert cfg.work_dir == 'w' and cfg.test_dataloader.batch_size == 7
    assert cfg.load_from is None and cfg.resume is False
    default = test_tool.build_config(test_tool.parse_args([str(CONFIG), 'x.pth']))
    assert default.work_dir.endswith(CONFIG.stem)
