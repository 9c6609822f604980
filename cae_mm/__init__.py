"""cae_mm: the Context Autoencoder (CAE) as an OpenMMLab plugin; importing it fills the ``cae_mm`` registries."""

from . import checkpoints, datasets, engine, models  # noqa: F401
from .registry import DATASETS, HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS, TRANSFORMS

__version__ = '0.1.0'
__all__ = ['DATASETS', 'HOOKS', 'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'TRANSFORMS', '__version__']
