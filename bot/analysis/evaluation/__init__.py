"""Measuring the pixel detector offline (`headshot-bot eval`): never used to answer a photo."""
