from .blockwise_mask_generator import BlockwiseMaskGenerator
from .two_view_random_resized_crop import TwoViewRandomResizedCrop

__all__ = ['BlockwiseMaskGenerator', 'TwoViewRandomResizedCrop']
