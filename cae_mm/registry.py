"""cae_mm's registries: direct children of mmengine's roots, scope ``'cae_mm'``, so ``type='cae_mm.Name'`` resolves
from any host ``default_scope`` (mmpretrain, mmdet, mmseg)."""

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='cae_mm', locations=['cae_mm.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='cae_mm', locations=['cae_mm.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='cae_mm', locations=['cae_mm.datasets.transforms'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='cae_mm', locations=['cae_mm.engine', 'cae_mm.checkpoints'])
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='cae_mm', locations=['cae_mm.checkpoints'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='cae_mm',
    locations=['cae_mm.engine.optimizers'],
)
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='cae_mm', locations=['cae_mm.engine.optimizers']
)
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES, scope='cae_mm', locations=['cae_mm.engine'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope='cae_mm', locations=['cae_mm.engine'])
