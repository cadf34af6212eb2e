"""A metadata-free copy of a photo (the "Strip metadata" button and `check --strip`)."""
