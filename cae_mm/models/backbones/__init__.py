from .multiscale_vision_transformer import MultiScaleVisionTransformer
from .vision_transformer import CAEVisionTransformer

__all__ = ['CAEVisionTransformer', 'MultiScaleVisionTransformer']
