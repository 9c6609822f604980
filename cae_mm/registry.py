"""cae_mm's registries: direct children of mmengine's roots, scope ``'cae_mm'``, so ``type='cae_mm.Name'`` resolves
from any host ``default_scope`` (mmpretrain, mmdet, mmseg)."""

from mmengine import registry as mmengine_registry
from mmengine.registry import Registry


def _child(parent: Registry, *locations: str) -> Registry:
    return Registry(parent.name, parent=parent, scope='cae_mm', locations=list(locations))


MODELS = _child(mmengine_registry.MODELS, 'cae_mm.models')
DATASETS = _child(mmengine_registry.DATASETS, 'cae_mm.datasets')
TRANSFORMS = _child(mmengine_registry.TRANSFORMS, 'cae_mm.datasets.transforms')
HOOKS = _child(mmengine_registry.HOOKS, 'cae_mm.engine', 'cae_mm.checkpoints')
RUNNERS = _child(mmengine_registry.RUNNERS, 'cae_mm.checkpoints')
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'cae_mm.engine.optimizers')
OPTIM_WRAPPERS = _child(mmengine_registry.OPTIM_WRAPPERS, 'cae_mm.engine.optimizers')
STRATEGIES = _child(mmengine_registry.STRATEGIES, 'cae_mm.engine')
FUNCTIONS = _child(mmengine_registry.FUNCTIONS, 'cae_mm.engine')
