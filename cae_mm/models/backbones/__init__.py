from .vision_transformer import CAEVisionTransformer

__all__ = ['CAEVisionTransformer']
