"""Importing cae_mm changes nothing in mmengine (issue 13): a stock config behaves the same with and without
``custom_imports=['cae_mm']``. cae_mm's checkpoint handling is switched on only by ``runner_type='cae_mm.Runner'``.

Each variant runs in a fresh interpreter: a stock mmengine Runner with a MultiStepLR schedule trains two iterations and
saves checkpoints, loads a checkpoint that shares no key with the model, and resumes from its own checkpoint; the
script reports what happened (file modes, warnings, errors) and a fingerprint of the mmengine globals that cae_mm used
to patch. The reports must be identical.
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = r"""
import json, os, stat, sys, warnings
import torch
import mmengine.fileio.io, mmengine.hooks.checkpoint_hook, mmengine.runner.checkpoint
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

with_cae_mm, cae_mm_runner, work_dir = sys.argv[1] != 'without', sys.argv[1] == 'runner', sys.argv[2]


def fingerprint():
    return dict(
        local_backend=mmengine.fileio.io.backends['local'].__module__,
        backend_prefixes={prefix: cls.__module__ for prefix, cls in mmengine.fileio.io.prefix_to_backends.items()},
        hook_open='open' in vars(mmengine.hooks.checkpoint_hook),
        load_state_dict=mmengine.runner.checkpoint.load_state_dict.__module__,
        schemes={prefix: loader.__module__ for prefix, loader in CheckpointLoader._schemes.items()
                 if not prefix.startswith('cae_mm')},  # a scheme under a new name of cae_mm's own is allowed
        torch_load=torch.load.__module__)


before = fingerprint()
# A stock mmdet config, parsed as a user would: as it is, or with custom_imports=['cae_mm'] added.
Config.fromfile(sys.argv[4] if with_cae_mm else sys.argv[3])
after = fingerprint()


@MODELS.register_module(force=True)
class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        loss = self.linear(inputs).pow(2).mean()  # inputs: (B, 2)
        return dict(loss=loss) if mode == 'loss' else loss


def runner(name, **changes):
    cfg = dict(model=dict(type='Toy'), work_dir=os.path.join(work_dir, name),
               train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * 4, sampler=dict(type='DefaultSampler', shuffle=False),
                                     batch_size=2, collate_fn=dict(type='default_collate')),
               optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), train_cfg=dict(by_epoch=False, max_iters=2),
               param_scheduler=dict(type='MultiStepLR', by_epoch=False, milestones=[1]),
               default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
               default_scope='mmengine', experiment_name=name)
    cfg.update(changes)
    if cae_mm_runner:  # what cae_mm's own configs switch on
        from mmengine.registry import RUNNERS
        return RUNNERS.build(Config(dict(cfg, runner_type='cae_mm.Runner')))
    return Runner.from_cfg(Config(cfg))


def outcome(action):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            action()
            result = 'ok'
        except Exception as error:
            result = f'{type(error).__module__}.{type(error).__name__}'
    return result, sorted({str(w.category.__name__) for w in caught})


os.umask(0o022)
trained = runner('trained')
trained.train()
checkpoint = os.path.join(work_dir, 'trained', 'iter_2.pth')
modes = {name: oct(stat.S_IMODE(os.stat(os.path.join(work_dir, 'trained', name)).st_mode))
         for name in ('iter_2.pth', 'last_checkpoint')}
foreign = os.path.join(work_dir, 'foreign.pth')
torch.save({'state_dict': {'other.weight': torch.zeros(1)}}, foreign)
report = dict(
    fingerprint_unchanged=before == after,
    fingerprint=after,
    modes=modes,
    load_foreign=outcome(lambda: runner('foreign', load_from=foreign).load_checkpoint(foreign)),
    resume_own=outcome(lambda: runner('resumed', load_from=checkpoint, resume=True).train()),
)
print('REPORT' + json.dumps(report, sort_keys=True))
"""


def report(tmp_path, variant: str) -> dict:
    import mmdet
    from pathlib import Path

    stock_config = Path(mmdet.__file__).parent / '.mim' / 'configs' / 'mask_rcnn' / 'mask-rcnn_r50_fpn_1x_coco.py'
    with_imports = tmp_path / 'with_imports.py'
    with_imports.write_text(
        f"_base_ = ['{stock_config}']\ncustom_imports = dict(imports=['cae_mm'], allow_failed_imports=False)\n"
    )
    work_dir = tmp_path / variant
    result = subprocess.run(
        [sys.executable, '-c', SCRIPT, variant, str(work_dir), str(stock_config), str(with_imports)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith('REPORT')]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(lines[-1][len('REPORT') :])


@pytest.mark.slow
def test_a_stock_config_behaves_the_same_with_and_without_cae_mm(tmp_path):
    without, with_cae_mm = report(tmp_path, 'without'), report(tmp_path, 'with')
    assert with_cae_mm['fingerprint_unchanged'] and without['fingerprint_unchanged']
    assert with_cae_mm == without
    # What stock mmengine does, for the record: files of mode 0644, a foreign checkpoint warns and loads nothing.
    assert without['modes'] == {'iter_2.pth': '0o644', 'last_checkpoint': '0o644'}
    assert without['load_foreign'][0] == 'ok'


@pytest.mark.slow
def test_cae_mm_runner_reads_multistep_checkpoints_and_refuses_foreign_ones(tmp_path):
    """The same run with ``runner_type='cae_mm.Runner'``: it resumes from its own MultiStepLR checkpoint (which stock
    mmengine cannot read under torch >= 2.6), refuses a checkpoint that loads nothing, writes normal file modes."""
    result = report(tmp_path, 'runner')
    assert result['fingerprint_unchanged']
    assert result['resume_own'][0] == 'ok'
    assert result['load_foreign'][0] == 'cae_mm.checkpoints.errors.CheckpointMismatchError'
    assert result['modes'] == {'iter_2.pth': '0o644', 'last_checkpoint': '0o644'}


def test_importing_cae_mm_registers_but_patches_nothing():
    """In this process (cae_mm imported by conftest): mmengine's own functions and backends are its own."""
    import mmengine.fileio.io
    import mmengine.hooks.checkpoint_hook
    import mmengine.runner.checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    assert mmengine.fileio.io.backends['local'].__module__.startswith('mmengine.')
    assert 'open' not in vars(mmengine.hooks.checkpoint_hook)
    assert mmengine.runner.checkpoint.load_state_dict.__module__ == 'mmengine.runner.checkpoint'
    assert all(
        loader.__module__.startswith('mmengine.')
        for prefix, loader in CheckpointLoader._schemes.items()
        if not prefix.startswith('cae_mm')
    )
