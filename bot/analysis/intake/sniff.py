"""Tell a file by its first bytes: the image format it promises, or what else it is (a PDF,
an archive, a program) so that the refusal can name it (config/messages/intake.toml,
[not_images], words each kind)."""

from __future__ import annotations

# Magic numbers of things people send by mistake, and the kind each one names.
_NOT_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "rar"),
    (b"7z\xbc\xaf", "seven_zip"),
    (b"\x7fELF", "program"),
    (b"MZ", "windows_program"),
    (b"ID3", "audio"),
    (b"OggS", "ogg"),
    (b"\x1aE\xdf\xa3", "webm"),
)
_VIDEO_BRANDS = (b"isom", b"mp41", b"mp42", b"qt  ", b"M4V ")
NOT_IMAGE_KINDS = frozenset({kind for _, kind in _NOT_IMAGES} | {"video", "svg", "html"})


def sniff_non_image(head: bytes) -> str | None:
    """The kind of non-image the first bytes show (one of NOT_IMAGE_KINDS), or None if the
    file may be an image."""
    for magic, kind in _NOT_IMAGES:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp" and head[8:12] in _VIDEO_BRANDS:
        return "video"
    text = head[:512].lstrip().lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text:
        return "svg"
    if text.startswith((b"<!doctype html", b"<html")):
        return "html"
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
