from .cae import CAE

__all__ = ['CAE']
