"""Installs cae_mm: the Context Autoencoder (CAE) as an OpenMMLab plugin.

The tested versions of every dependency are pinned in constraints.txt; install with
``bash tools/install.sh`` (it passes that file to pip and builds mmcv's compiled ops).
"""
from setuptools import find_packages, setup

setup(
    name='cae_mm',
    version='0.1.0',
    description='Context Autoencoder (CAE) self-supervised pretraining for the OpenMMLab ecosystem',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.11,<3.12',
    packages=find_packages(include=['cae_mm', 'cae_mm.*']),
    install_requires=[
        'torch>=2.6',
        'torchvision',
        'numpy<2',
        'mmengine>=0.10.7,<0.11',
        'mmcv>=2.1.0,<2.2',
        'mmpretrain>=1.2.0,<1.3',
        'mmdet>=3.3.0,<3.4',
        'mmsegmentation>=1.2.2,<1.3',
        # mmsegmentation imports these at import time without declaring them.
        'ftfy',
        'regex',
        # The bundled demo dataset is made of the photographs these wheels ship.
        'scikit-image',
        'scikit-learn',
    ],
    extras_require={'tests': ['pytest']},
    license='Apache-2.0',
)
