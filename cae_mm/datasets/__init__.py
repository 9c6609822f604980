from .demo_images import prepare_demo_dataset
from .transforms import BlockwiseMaskGenerator, TwoViewRandomResizedCrop

__all__ = ['prepare_demo_dataset', 'BlockwiseMaskGenerator', 'TwoViewRandomResizedCrop']
