from .transforms import BlockwiseMaskGenerator, LoadImageWithPixelLimit, TwoViewRandomResizedCrop

__all__ = ['BlockwiseMaskGenerator', 'LoadImageWithPixelLimit', 'TwoViewRandomResizedCrop']
