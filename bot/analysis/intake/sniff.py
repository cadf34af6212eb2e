"""Name a file by its first bytes: the image format it promises, or what else it is (a PDF,
an archive, a program) so that the refusal can say so."""

from __future__ import annotations

ACCEPTED = "JPEG, PNG, WebP, HEIC or AVIF"

# Magic numbers of things people send by mistake, to name them in the refusal.
_NOT_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"ID3", "an audio file"),
    (b"OggS", "an audio or video file"),
    (b"\x1aE\xdf\xa3", "a video (WebM/MKV)"),
)


def sniff_non_image(head: bytes) -> str | None:
    """Name a non-image by its first bytes, or None if it may be an image."""
    for magic, name in _NOT_IMAGES:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in (b"isom", b"mp41", b"mp42", b"qt  ", b"M4V "):
        return "a video"
    text = head[:512].lstrip().lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text:
        return "an SVG drawing"
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page"
    return None


_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"GIF8", 0, "GIF"),
    (b"WEBP", 8, "WebP"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIC"),
    (b"ftypavif", 4, "AVIF"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
)


def sniff_image(head: bytes) -> str | None:
    """Name the image format the first bytes promise, or None."""
    for magic, offset, name in _IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def carries_c2pa(data: bytes) -> bool:
    """Whether the file seems to hold Content Credentials (a JUMBF box, a "c2pa" label)
    anywhere in it. The c2pa check's SDK reads them; this only tells "there is a manifest
    store, damaged or not" from "there is none", by the bytes alone (about 2 ms a MB)."""
    return b"c2pa" in data or b"jumb" in data
