from .pixel_target import NormalizedPixelTarget, patchify

__all__ = ['NormalizedPixelTarget', 'patchify']
