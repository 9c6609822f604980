from .transforms import BlockwiseMaskGenerator, TwoViewRandomResizedCrop

__all__ = ['BlockwiseMaskGenerator', 'TwoViewRandomResizedCrop']
