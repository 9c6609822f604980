"""Builds cae_mm. The package metadata lives in pyproject.toml; this file only adds mim's files.

OpenMMLab's ``mim`` looks for a codebase's configs, tools and model index inside the installed package, under
``cae_mm/.mim/`` (``mim train cae_mm CONFIG``, ``mim test``, ``mim run``). As mmdet's and mmpretrain's setup.py do,
they are symbolic links to the repository's folders for an editable install and copies for a wheel or an sdist.
That step runs code at build time, which pyproject.toml cannot express, so it stays here.
Install with ``bash tools/install.sh`` (it passes constraints.txt to pip and builds mmcv's compiled ops).
"""

import os
import os.path as osp
import shutil
import sys

from setuptools import setup

MIM_FILES = ('configs', 'tools', 'model-index.yml')


def mim_install_mode() -> str | None:
    """'symlink' for an editable install, 'copy' for a wheel or an sdist, None for the metadata-only steps."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        return 'symlink'
    if 'bdist_wheel' in sys.argv or 'sdist' in sys.argv:
        return 'copy'
    return None


def add_mim_extension() -> None:
    """Lay out ``cae_mm/.mim/{configs,tools,model-index.yml}`` from the repository's own files."""
    mode = mim_install_mode()
    if mode is None:
        return
    repo_root = osp.dirname(osp.abspath(__file__))
    mim_root = osp.join(repo_root, 'cae_mm', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_FILES:
        source, target = osp.join(repo_root, name), osp.join(mim_root, name)
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        if mode == 'symlink':
            os.symlink(osp.relpath(source, mim_root), target)
        elif osp.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(source, target)


if __name__ == '__main__':
    add_mim_extension()
    setup()
