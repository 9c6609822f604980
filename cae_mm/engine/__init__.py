from .checkpoint_io import CheckpointReadError, install as install_checkpoint_io, load_checkpoint_file
from .optimizers import LayerDecayOptimWrapperConstructor

install_checkpoint_io()

__all__ = ['CheckpointReadError', 'LayerDecayOptimWrapperConstructor', 'install_checkpoint_io', 'load_checkpoint_file']
