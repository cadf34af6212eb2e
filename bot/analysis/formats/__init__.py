"""Readers of metadata formats (XMP, generators' parameters and graphs, EXIF text, hidden
watermarks): they parse untrusted bytes into plain values and judge nothing; the checks do."""
