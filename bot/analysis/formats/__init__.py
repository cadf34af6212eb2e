"""Readers of metadata formats (XMP, generators' parameters and graphs, EXIF text and camera
fields, marks hidden in the pixels): they parse untrusted bytes into plain values. What a value
means is configuration (metadata_rules reads those tables); the checks turn it into findings."""
