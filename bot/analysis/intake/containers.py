"""Walk a container's structure before Pillow does, without decoding pixels: Pillow's parsers
loop in Python over every chunk, segment and block, so a file of millions of empty ones would
cost seconds. The walks count frames and pages, read PNG text chunks (with bounded inflation),
and refuse absurd structures."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Literal

from bot.analysis.intake.refusals import metadata_bomb, too_complex_structure
from bot.settings import Limits


def count_gif_frames(data: bytes, stop: int, max_blocks: int = 100_000) -> int:
    """Count GIF image descriptors by walking blocks (no LZW decoding); stops at `stop`.
    Raises too_complex past `max_blocks` blocks or short sub-blocks (encoders fill sub-blocks
    to 255 bytes; millions of tiny ones only make parsers spin)."""
    if len(data) < 13:
        return 1
    pos = 13
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    count = blocks = 0
    n = len(data)
    while pos < n and count < stop:
        kind = data[pos]
        if kind == 0x3B:  # trailer
            break
        if kind == 0x21:  # extension: label, then sub-blocks
            pos, small = _skip_subblocks(data, pos + 2, max_blocks - blocks)
        elif kind == 0x2C:  # image: descriptor, optional local palette, LZW size, sub-blocks
            if pos + 10 > n:
                break
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:
                pos += 3 << ((flags & 7) + 1)
            pos, small = _skip_subblocks(data, pos + 1, max_blocks - blocks)
            count += 1
        else:
            break  # garbage: whatever follows is not a frame
        blocks += 1 + small
        if blocks > max_blocks:
            raise too_complex_structure("GIF", "blocks", max_blocks)
    return max(1, count)


def _skip_subblocks(data: bytes, pos: int, budget: int) -> tuple[int, int]:
    """Position after a sub-block chain, and how many of its sub-blocks were short (it stops
    early once that passes `budget`)."""
    n, small = len(data), 0
    while pos < n and small <= budget:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            break
        if size < 64:
            small += 1
    return pos, small


# The end of a scan's entropy-coded data: 0xFF followed by anything but a stuffed zero, a
# restart marker or another fill byte (found at C speed, not byte by byte in Python).
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def check_jpeg_segments(data: bytes, limits: Limits) -> None:
    """Walk every JPEG marker up to EOI, skipping each scan's entropy data; refuse a file of
    absurdly many segments, or of more scans than `max_jpeg_scans`: libjpeg decodes every
    scan over the whole image, so 100,000 empty ones in a progressive JPEG cost minutes."""
    pos, n, seen, scans = 2, len(data), 0, 0
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0xD9:  # end of image (an MPO's further images are never decoded)
            return
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if marker == 0xDA:  # start of scan: its entropy data runs to the next marker
                scans += 1
                if scans > limits.max_jpeg_scans:
                    raise too_complex_structure("JPEG", "scans", limits.max_jpeg_scans)
                end = _JPEG_SCAN_END.search(data, pos)
                if end is None:
                    return
                pos = end.start()
        seen += 1
        if seen > limits.max_chunks:
            raise too_complex_structure("JPEG", "segments", limits.max_chunks)


_BYTE_ORDERS: dict[bytes, Literal["little", "big"]] = {b"II": "little", b"MM": "big"}


def count_tiff_pages(data: bytes, stop: int, max_tags: int = 10_000) -> int:
    """Count TIFF pages by following next-IFD offsets (O(1) a page, loops detected). Raises
    too_complex past `max_tags` tags in all: cameras write a few hundred, and every reader
    (Pillow, the C2PA SDK: ~23 µs a tag) parses each one."""
    order = _BYTE_ORDERS.get(data[:2])
    if order is None or len(data) < 8 or data[2:4] not in (b"*\x00", b"\x00*"):
        return 1  # BigTIFF or damaged: Pillow decides
    offset, seen, tags = int.from_bytes(data[4:8], order), set[int](), 0
    while offset and offset + 2 <= len(data) and offset not in seen and len(seen) < stop:
        seen.add(offset)
        entries = int.from_bytes(data[offset : offset + 2], order)
        tags += entries
        if tags > max_tags:
            raise too_complex_structure("TIFF", "tags", max_tags)
        at = offset + 2 + 12 * entries
        offset = int.from_bytes(data[at : at + 4], order) if at + 4 <= len(data) else 0
    return max(1, len(seen))


@dataclass
class PngScan:
    """What a walk over a PNG's chunks found, without decoding any pixels."""

    texts: dict[str, str] = field(default_factory=dict)
    fctl: int = 0
    bad_crc: list[str] = field(default_factory=list)
    cleaned: bytes | None = None  # the file without bad-checksum ancillary chunks, if any


_PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")


def scan_png(data: bytes, limits: Limits) -> PngScan:
    """Read every text chunk (before and after the image data, with bounded inflation), count
    animation frames, and drop ancillary chunks whose checksum is wrong (as libpng does)."""
    scan = PngScan()
    dropped: list[int] = []
    view = memoryview(data)  # slices of a memoryview do not copy (IDAT can be megabytes)
    pos, n, total, chunks = 8, len(data), 0, 0
    while pos + 12 <= n:
        length = int.from_bytes(view[pos : pos + 4], "big")
        ctype = bytes(view[pos + 4 : pos + 8])
        end = pos + 12 + length
        if end > n:
            break  # truncated: Pillow reports it
        chunks += 1
        if chunks > limits.max_chunks:
            raise too_complex_structure("PNG", "chunks", limits.max_chunks)
        if ctype[0] & 0x20:  # ancillary: check its CRC, read it if it is text
            body = view[pos + 8 : end - 4]
            if zlib.crc32(body, zlib.crc32(ctype)) != int.from_bytes(view[end - 4 : end], "big"):
                scan.bad_crc.append(ctype.decode("latin-1"))
                dropped.append(pos)
            elif ctype == b"fcTL":
                scan.fctl += 1
            elif ctype in _PNG_TEXT and len(scan.texts) < 256:
                total += _png_text(ctype, bytes(body), scan.texts, limits)
                if total > limits.max_text_total_bytes:
                    raise metadata_bomb(limits)
        pos = end
        if ctype == b"IEND":
            break
    if scan.bad_crc:
        scan.cleaned = _without(data, dropped)
    return scan


def _without(data: bytes, dropped: list[int]) -> bytes:
    out, start = [], 0
    for pos in dropped:
        out.append(data[start:pos])
        start = pos + 12 + int.from_bytes(data[pos : pos + 4], "big")
    out.append(data[start:])
    return b"".join(out)


def _png_text(ctype: bytes, body: bytes, texts: dict[str, str], limits: Limits) -> int:
    key, _, rest = body.partition(b"\x00")
    try:
        if ctype == b"tEXt":
            value = rest.decode("latin-1")
        elif ctype == b"zTXt":
            value = _inflate(rest[1:], limits).decode("latin-1")
        else:  # iTXt: flag, method, language\0, translated keyword\0, text
            flag = rest[:1] == b"\x01"
            text = rest[2:].split(b"\x00", 2)[-1]
            value = (_inflate(text, limits) if flag else text).decode("utf-8", "replace")
    except zlib.error:
        return 0  # unreadable compressed text: skip it, like Pillow
    name = key.decode("latin-1", "replace")[:80]
    texts.setdefault(name, value[: limits.max_text_chunk_bytes])
    return len(value)


def _inflate(blob: bytes, limits: Limits) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(blob, limits.max_text_chunk_bytes)
    if inflater.unconsumed_tail:
        raise metadata_bomb(limits)
    return out
