"""Lossless stripping: rewrite a JPEG, PNG or WebP container with only the segments or chunks
that decoding and correct display need (see clean_copy for what is kept), so the picture data
is byte for byte the original's."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator

ORIENTATION = 0x0112  # the EXIF tag


class Malformed(ValueError):
    """The container is not laid out as its format says: re-encode instead."""


def orientation_tiff(orientation: int) -> bytes:
    """A big-endian TIFF header with one IFD holding only the orientation tag."""
    entry = struct.pack(">HHIHH", ORIENTATION, 3, 1, orientation, 0)
    return b"MM\x00*" + struct.pack(">IH", 8, 1) + entry + b"\x00\x00\x00\x00"


# JPEG ---------------------------------------------------------------------------------------
_SOI, _EOI, _SOS, _APP0, _APP1, _APP2, _APP14 = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise Malformed("no SOI")
    out = [b"\xff\xd8"]
    tag = b"Exif\x00\x00" + orientation_tiff(orientation) if orientation != 1 else b""
    for marker, segment in _jpeg_segments(data):
        if tag and marker != _APP0:  # EXIF follows the JFIF header, before everything else
            out.append(_jpeg_segment(_APP1, tag))
            tag = b""
        kept = _kept_jpeg_segment(marker, segment)
        if kept is not None:
            out.append(kept)
        if marker == _EOI:
            return b"".join(out)  # anything after it (MPF pictures, trailers) is dropped
    raise Malformed("no EOI")


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, the segment's bytes with its scan data) from after SOI to EOI."""
    pos, n = 2, len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise Malformed("expected a marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            yield marker, data[pos : pos + 2]
            return
        if marker in _STANDALONE:
            yield marker, data[pos : pos + 2]
            pos += 2
            continue
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if end > n or end < pos + 4:
            raise Malformed("segment length")
        if marker == _SOS:
            end = _end_of_scan(data, end)
        yield marker, data[pos:end]
        pos = end
    raise Malformed("ran out of data")


def _end_of_scan(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at `pos` ends: at the next marker that is not a
    stuffed 0xFF00, a restart marker or a fill byte."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise Malformed("scan without an end")
        following = data[pos + 1]
        if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1
        else:
            return pos


def _kept_jpeg_segment(marker: int, segment: bytes) -> bytes | None:
    """The segment as it goes into the copy, or None to drop it."""
    body = segment[4:]
    if marker == _APP0:
        if not body.startswith(b"JFIF\x00") or len(body) < 14:
            return None  # JFXX thumbnails, AVI1 and the like
        return _jpeg_segment(_APP0, body[:12] + b"\x00\x00")  # the header without its thumbnail
    if marker == _APP2:
        return segment if body.startswith(b"ICC_PROFILE\x00") else None  # MPF, FlashPix go
    if marker == _APP14:
        return segment if body.startswith(b"Adobe") else None  # says how to convert colours
    if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn (EXIF, XMP, IPTC, JUMBF…) and COM
        return None
    return segment


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    if len(body) + 2 > 0xFFFF:
        raise Malformed("segment too long")
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


# PNG ----------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that change how the pixels look (or move): everything else is dropped.
_PNG_DISPLAY = {
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"mDCv", b"cLLI", b"cLLi",
    b"sBIT", b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def _strip_png(data: bytes, orientation: int) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise Malformed("no PNG signature")
    out, pos = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise Malformed("chunk length")
        critical = kind[:1].isupper()
        if critical or kind in _PNG_DISPLAY:
            out.append(data[pos:end])
        if kind == b"IHDR" and orientation != 1:
            out.append(_png_chunk(b"eXIf", orientation_tiff(orientation)))
        if kind == b"IEND":
            return b"".join(out)  # anything after it is dropped
        pos = end
    raise Malformed("no IEND")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")


# WebP ---------------------------------------------------------------------------------------
_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes, orientation: int) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Malformed("no RIFF/WEBP header")
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    chunks, pos = [], 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        stop = pos + 8 + size + (size & 1)
        if pos + 8 + size > end:
            raise Malformed("chunk size")
        if kind in _WEBP_KEEP:
            chunks.append(data[pos:stop])
        pos = stop
    if chunks and chunks[0][:4] == b"VP8X":
        flags = chunks[0][8] & ~(_VP8X_EXIF | _VP8X_XMP)
        if orientation != 1:
            flags |= _VP8X_EXIF
            chunks.append(_riff_chunk(b"EXIF", orientation_tiff(orientation)))
        chunks[0] = chunks[0][:8] + bytes((flags,)) + chunks[0][9:]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + b"\x00" * (len(body) & 1)


# format -> rewriter(data, orientation to keep): the formats stripped without re-encoding
REWRITERS: dict[str, Callable[[bytes, int], bytes]] = {
    "JPEG": _strip_jpeg,
    "MPO": _strip_jpeg,
    "PNG": _strip_png,
    "WEBP": _strip_webp,
}
