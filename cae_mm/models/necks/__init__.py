from .latent_context_regressor import LatentContextRegressor

__all__ = ['LatentContextRegressor']
