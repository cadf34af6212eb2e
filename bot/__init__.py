"""Headshot Check: checks profile photos for evidence of AI generation and explains it."""

__version__ = "0.1.0"
