"""Small helpers shared across cae_mm that are not models."""
