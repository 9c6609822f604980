"""Helpers that are not models: checkpoint key conversion and restricted unpickling of files from elsewhere."""
