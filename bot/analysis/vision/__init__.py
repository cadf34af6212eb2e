"""Pixel-level helpers shared by the `faces` and `pixels` checks (detection, features, model)."""
