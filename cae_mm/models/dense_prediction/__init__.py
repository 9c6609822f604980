"""The pretrained encoder as an mmdet/mmseg backbone: the multi-scale wrapper and its feature-pyramid adapters."""

from .multi_scale_adapter import MultiScaleAdapter
from .multiscale_vision_transformer import MultiScaleVisionTransformer
from .simple_feature_pyramid import LayerNorm2d, SimpleFeaturePyramid

__all__ = ['LayerNorm2d', 'MultiScaleAdapter', 'MultiScaleVisionTransformer', 'SimpleFeaturePyramid']
