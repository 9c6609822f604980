from .checkpoint_io import CheckpointReadError, install as install_checkpoint_io, load_checkpoint_file
from .optimizers import BFloat16AutocastOptimWrapper, LayerDecayOptimWrapperConstructor

install_checkpoint_io()

__all__ = ['BFloat16AutocastOptimWrapper', 'CheckpointReadError', 'LayerDecayOptimWrapperConstructor', 'install_checkpoint_io', 'load_checkpoint_file']
