"""Pictures of what a CAE learned: masks, pixel reconstructions, attention maps (used by tools/visualization/)."""
