from .blockwise_mask_generator import BlockwiseMaskGenerator
from .load_image_with_pixel_limit import LoadImageWithPixelLimit
from .two_view_random_resized_crop import TwoViewRandomResizedCrop

__all__ = ['BlockwiseMaskGenerator', 'LoadImageWithPixelLimit', 'TwoViewRandomResizedCrop']
