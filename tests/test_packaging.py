"""cae_mm installed the OpenMMLab way: a non-editable install carries the configs, tools and model-index.yml under
``cae_mm/.mim/``, and openmim's ``mim run``, ``mim train`` and ``mim test`` work from outside the repository.

The package is installed with pip (``--target``, no index: nothing downloads) from a copy of the repository's files,
so the working tree is left alone; every command then runs in a temporary folder with ``PYTHONPATH`` at that copy.
"""

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

PRETRAINING_CONFIG = 'cae_vit-test-p8_1xb4-pixel-8i_test.py'
PROBE_CONFIG = 'cae_vit-test-p4_1xb64-linear-probe-lars-2e_digits_test.py'


@pytest.fixture(scope='module')
def site(tmp_path_factory) -> Path:
    """A non-editable install of cae_mm (``pip install --target``) made from the repository's files."""
    root = tmp_path_factory.mktemp('packaging')
    source, site = root / 'source', root / 'site'
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    completed = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '--quiet',
            '--no-deps',
            '--no-build-isolation',
            '--no-index',
            '--target',
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return site


def mim(site: Path, cwd: Path, *arguments: str) -> str:
    """Run ``mim ARGUMENTS`` in ``cwd`` against the installed copy; return its output."""
    environment = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    completed = subprocess.run(
        [sys.executable, '-m', 'mim', *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return completed.stdout + completed.stderr


def test_install_carries_configs_tools_and_model_index(site):
    """Copies (not links) of every config, every tool and the model index, equal to the repository's files."""
    mim_root = site / 'cae_mm' / '.mim'
    assert sorted(path.name for path in mim_root.iterdir()) == ['configs', 'model-index.yml', 'tools']
    assert not [path for path in mim_root.rglob('*') if path.is_symlink()]
    expected = ['model-index.yml']
    for folder in ('configs', 'tools'):
        in_repository = sorted(
            str(path.relative_to(REPO_ROOT))
            for path in (REPO_ROOT / folder).rglob('*')
            if path.is_file() and '__pycache__' not in path.parts
        )
        shipped = sorted(
            str(path.relative_to(mim_root))
            for path in (mim_root / folder).rglob('*')
            if path.is_file() and '__pycache__' not in path.parts
        )
        assert shipped == in_repository
        expected += in_repository
    match, mismatch, errors = filecmp.cmpfiles(REPO_ROOT, mim_root, expected, shallow=False)
    assert len(match) == len(expected) and not mismatch and not errors
    for metafile in yaml.safe_load((mim_root / 'model-index.yml').read_text())['Import']:
        assert (mim_root / metafile).is_file()
    # The library's own folders: no configs, tools or data writers inside the import package.
    assert not (site / 'cae_mm' / 'configs').exists() and not (site / 'cae_mm' / 'datasets' / 'demo_images.py').exists()


def test_mim_run_train_and_test_from_outside_the_repository(site, tmp_path, demo_data_root):
    """``mim run`` writes the digits, ``mim train`` pretrains (2 iterations) and probes, ``mim test`` evaluates."""
    environment = dict(os.environ, PYTHONPATH=str(site))
    imported = subprocess.run(
        [sys.executable, '-c', 'import cae_mm; print(cae_mm.__file__)'],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(imported) == site / 'cae_mm' / '__init__.py'

    output = mim(site, tmp_path, 'run', 'cae_mm', 'labelled_demo_datasets', '--root', str(tmp_path / 'data'))
    assert 'digits: 1347 train, 450 val images' in output

    pretraining = tmp_path / 'pretraining'
    output = mim(
        site,
        tmp_path,
        'train',
        'cae_mm',
        PRETRAINING_CONFIG,
        '--work-dir',
        str(pretraining),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root / "images"}',
        'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2',
    )
    assert str(site / 'cae_mm' / '.mim' / 'configs' / 'cae' / PRETRAINING_CONFIG) in output
    assert (pretraining / 'iter_2.pth').is_file()
    # Tools that import their shared modules (tools.model_converters.checkpoint_layouts) from the installed .mim copy.
    output = mim(site, tmp_path, 'run', 'cae_mm', 'cae_mm_to_backbone', str(pretraining / 'iter_2.pth'), 'backbone.pth')
    assert 'tensors to backbone.pth' in output and (tmp_path / 'backbone.pth').is_file()
    output = mim(site, tmp_path, 'run', 'cae_mm', 'publish_model', str(pretraining / 'iter_2.pth'), 'release.pth')
    assert '(full model)' in output

    probe = tmp_path / 'probe'
    subset = 'train_dataloader.dataset.indices=' + str(list(range(128))).replace(' ', '')
    mim(
        site,
        tmp_path,
        'train',
        'cae_mm',
        PROBE_CONFIG,
        '--work-dir',
        str(probe),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "data" / "digits"}',
        subset,
        'model.backbone.init_cfg=None',
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1',
    )
    assert (probe / 'epoch_1.pth').is_file()

    evaluation = tmp_path / 'evaluation'
    test_subset = 'test_dataloader.dataset.indices=' + str(list(range(0, 450, 9))).replace(' ', '')
    output = mim(
        site,
        tmp_path,
        'test',
        'cae_mm',
        PROBE_CONFIG,
        '--checkpoint',
        str(probe / 'epoch_1.pth'),
        '--work-dir',
        str(evaluation),
        '--cfg-options',
        f'test_dataloader.dataset.data_root={tmp_path / "data" / "digits"}',
        test_subset,
        'model.backbone.init_cfg=None',
    )
    assert 'accuracy/top1' in output
