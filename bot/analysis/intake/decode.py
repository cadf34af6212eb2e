"""Safe intake: turn untrusted bytes into a decoded Photo, or a clear, coded refusal.

Everything here assumes hostile input: sizes are checked before decoding, Pillow's
decompression-bomb guard is strict, text chunks are capped, and every failure maps to
a stable error code with one human sentence.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from PIL import ExifTags, Image, ImageFile, PngImagePlugin

from bot.errors import CodedError
from bot.settings import Limits

log = logging.getLogger(__name__)

try:  # HEIC/HEIF from phones; optional at import so a broken wheel degrades to "unsupported"
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform's wheel
    pillow_heif = None

ACCEPTED = "JPEG, PNG, WebP, HEIC or AVIF"
SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF", "AVIF", "TIFF", "BMP"}


class IntakeError(CodedError):
    """A file we will not analyse."""


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


@dataclass
class Photo:
    """A decoded photo and its raw metadata containers, parsed once for every check."""

    data: bytes
    filename: str
    format: str
    image: Image.Image  # the first frame, fully loaded
    frames: int = 1
    info: dict[str, Any] = field(default_factory=dict)
    text_chunks: dict[str, str] = field(default_factory=dict)
    xmp: list[str] = field(default_factory=list)
    exif: dict[str, Any] = field(default_factory=dict)
    exif_raw: bytes | None = None
    damaged_chunks: list[str] = field(default_factory=list)  # ignored for a bad checksum
    _scaled: dict[int, Image.Image] = field(default_factory=dict, repr=False)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def animated(self) -> bool:
        return self.frames > 1

    @cached_property
    def rgb(self) -> Image.Image:
        """The first frame as RGB (alpha flattened onto white). Shared and cached: never modify
        it in place (copy first). An RGB photo, the common case, is returned as is: a 12 MP
        copy costs ~48 MB and ~15 ms for nothing."""
        im = self.image
        if im.mode == "RGB":
            return im
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            return canvas
        return im.convert("RGB")

    def downscaled(self, max_side: int) -> Image.Image:
        """RGB image whose longest side is at most max_side (never upscaled; cached: do not
        modify it in place)."""
        if max_side not in self._scaled:
            im = self.rgb
            scale = max_side / max(im.size)
            if scale < 1:
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            self._scaled[max_side] = im
        return self._scaled[max_side]


_PILLOW_LOCK = threading.RLock()


@contextmanager
def _pillow_limits(limits: Limits) -> Iterator[None]:
    """Pillow's guards are module globals: set them for this decode and restore them after.

    The lock keeps two threads of one process from mixing their limits; the bot decodes in
    worker processes, one file at a time, so it never waits in practice.
    """
    with _PILLOW_LOCK:
        saved = (
            Image.MAX_IMAGE_PIXELS,
            PngImagePlugin.MAX_TEXT_CHUNK,
            PngImagePlugin.MAX_TEXT_MEMORY,
            ImageFile.LOAD_TRUNCATED_IMAGES,
        )
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
        PngImagePlugin.MAX_TEXT_CHUNK = limits.max_text_chunk_bytes
        PngImagePlugin.MAX_TEXT_MEMORY = limits.max_text_total_bytes
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            with warnings.catch_warnings():
                # hostile files make Pillow warn once per bad tag or chunk: no log floods...
                warnings.simplefilter("ignore")
                # ...but a bomb warning stops the decode
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            (
                Image.MAX_IMAGE_PIXELS,
                PngImagePlugin.MAX_TEXT_CHUNK,
                PngImagePlugin.MAX_TEXT_MEMORY,
                ImageFile.LOAD_TRUNCATED_IMAGES,
            ) = saved


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def open_photo(data: bytes, filename: str, limits: Limits) -> Photo:
    """Decode `data` safely or raise IntakeError with a code and a human sentence."""
    if not data:
        raise IntakeError("empty_file", "This file is empty. Send the photo itself.")
    if len(data) > limits.max_bytes:
        raise IntakeError(
            "too_large",
            f"This file is {_mb(len(data))}; the limit is {_mb(limits.max_bytes)}. "
            "Send a smaller copy of the photo.",
        )
    other = sniff_non_image(data[:1024])
    if other:
        raise IntakeError("not_an_image", f"This file is {other}, not a photo. Send a {ACCEPTED}.")
    try:
        with _pillow_limits(limits):
            return _decode(data, filename, limits)
    except IntakeError:
        raise
    except MemoryError:
        raise _too_complex() from None
    except Exception as exc:  # a decoder bug must still end in a clean refusal
        log.warning("unexpected decode failure on %s: %r", filename, exc)
        raise _corrupt(exc, sniff_image(data[:16])) from None


def _decode(data: bytes, filename: str, limits: Limits) -> Photo:
    promised = sniff_image(data[:16])
    # Walk the container before Pillow does: its parsers loop in Python over every chunk,
    # segment and block, so a file of millions of empty ones costs seconds.
    scan = scan_png(data, limits) if promised == "PNG" else None
    frames_seen = None
    if promised == "JPEG":
        check_jpeg_segments(data, limits)
    elif promised == "GIF":
        frames_seen = count_gif_frames(data, limits.max_frames + 1, limits.max_chunks)
    elif promised == "TIFF":
        frames_seen = count_tiff_pages(data, limits.max_frames + 1, limits.max_tiff_tags)
    stream = scan.cleaned if scan and scan.cleaned is not None else data
    try:
        im = Image.open(io.BytesIO(stream))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(limits) from None
    except Image.UnidentifiedImageError:
        if promised:  # right magic, unreadable body: damaged, not "not an image"
            raise _corrupt(None, promised) from None
        raise IntakeError(
            "not_an_image", f"This file is not an image I can read. Send a {ACCEPTED}."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _corrupt(exc, promised, limits) from None
    fmt = (im.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:
        raise IntakeError(
            "unsupported_format",
            f"{_FORMAT_NAMES.get(fmt, fmt or 'These')} files are not supported. Send a {ACCEPTED}.",
        )
    if im.width * im.height > limits.max_pixels:
        raise _bomb(limits)
    frames = _count_frames(im, fmt, frames_seen, scan, limits)
    try:
        im.seek(0)
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(limits) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise _corrupt(exc, promised, limits) from None
    photo = Photo(
        data=data, filename=filename, format=fmt, image=im, frames=frames, info=dict(im.info)
    )
    if scan:
        photo.damaged_chunks = scan.bad_crc
    _read_containers(photo, im, scan, limits)
    return photo


# Pillow names the formats it reads but we do not; people know them by these names.
_FORMAT_NAMES = {"PSD": "Photoshop (PSD)", "ICO": "Icon (ICO)", "EPS": "PostScript (EPS)"}


def _count_frames(
    im: Image.Image, fmt: str, frames_seen: int | None, scan: PngScan | None, limits: Limits
) -> int:
    """Count frames without decoding them (Pillow's seek decodes every GIF frame on the way,
    and reads every tag of every TIFF page)."""
    if fmt in ("GIF", "TIFF") and frames_seen is not None:
        count = frames_seen  # counted by walking the file's structure
    elif fmt == "PNG":
        # acTL is a claim; only fcTL chunks actually present make frames
        count = min(getattr(im, "n_frames", 1), scan.fctl if scan and scan.fctl else 1)
    elif fmt in ("GIF", "TIFF"):
        count = 1
    else:
        try:  # WebP, HEIF and MPO know their frame count from the container
            count = int(getattr(im, "n_frames", 1))
        except Exception:
            count = 1
    if count > limits.max_frames:
        raise IntakeError(
            "too_many_frames",
            f"This file holds more than {limits.max_frames} frames or pages. "
            "Send a still photo (or one frame of it).",
        )
    return max(1, count)


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
            raise _too_complex_structure("GIF", "blocks", max_blocks)
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
                    raise _too_complex_structure("JPEG", "scans", limits.max_jpeg_scans)
                end = _JPEG_SCAN_END.search(data, pos)
                if end is None:
                    return
                pos = end.start()
        seen += 1
        if seen > limits.max_chunks:
            raise _too_complex_structure("JPEG", "segments", limits.max_chunks)


def count_tiff_pages(data: bytes, stop: int, max_tags: int = 10_000) -> int:
    """Count TIFF pages by following next-IFD offsets (O(1) a page, loops detected). Raises
    too_complex past `max_tags` tags in all: cameras write a few hundred, and every reader
    (Pillow, the C2PA SDK: ~23 µs a tag) parses each one."""
    order = {b"II": "little", b"MM": "big"}.get(data[:2])
    if order is None or len(data) < 8 or data[2:4] not in (b"*\x00", b"\x00*"):
        return 1  # BigTIFF or damaged: Pillow decides
    offset, seen, tags = int.from_bytes(data[4:8], order), set(), 0
    while offset and offset + 2 <= len(data) and offset not in seen and len(seen) < stop:
        seen.add(offset)
        entries = int.from_bytes(data[offset : offset + 2], order)
        tags += entries
        if tags > max_tags:
            raise _too_complex_structure("TIFF", "tags", max_tags)
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
            raise _too_complex_structure("PNG", "chunks", limits.max_chunks)
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
                    raise _metadata_bomb(limits)
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
        raise _metadata_bomb(limits)
    return out


def _bomb(limits: Limits) -> IntakeError:
    return IntakeError(
        "decompression_bomb",
        f"This image claims more than {limits.max_pixels / 1e6:g} million pixels, far more than "
        "any headshot needs; I did not open it. Send an ordinary-sized photo.",
    )


def _metadata_bomb(limits: Limits) -> IntakeError:
    return IntakeError(
        "metadata_too_large",
        f"This image carries more embedded text than I read (over "
        f"{_mb(limits.max_text_chunk_bytes)} in one piece); ordinary photos carry far less, "
        "so I did not open it. Send another copy of the photo.",
    )


def _too_complex_structure(kind: str, unit: str, limit: int) -> IntakeError:
    return IntakeError(
        "too_complex",
        f"This {kind} file is split into more than {limit:,} {unit}, far more than any photo; "
        "I did not open it. Send another copy of the photo.",
    )


def _too_complex() -> IntakeError:
    return IntakeError(
        "too_complex",
        "This image needs more memory to open than I allow. Send a smaller or simpler copy.",
    )


def _corrupt(
    exc: BaseException | None, promised: str | None, limits: Limits | None = None
) -> IntakeError:
    text = str(exc or "").lower()
    if limits and ("max_text" in text or "text chunks" in text):
        return _metadata_bomb(limits)
    kind = f"a {promised} file" if promised else "an image"
    if "truncated" in text or isinstance(exc, EOFError):
        return IntakeError(
            "truncated",
            f"This looks like {kind}, but it is cut off (incomplete). Send the whole file again.",
        )
    return IntakeError(
        "corrupt",
        f"This looks like {kind}, but it is damaged and cannot be decoded. Try another copy.",
    )


def _read_containers(photo: Photo, im: Image.Image, scan: PngScan | None, limits: Limits) -> None:
    """Gather text chunks, comments, XMP packets and EXIF, bounded in size."""
    texts: dict[str, str] = {}
    # PNG: our own walk, which includes chunks after the image data. Pillow's `im.text` would
    # do too, but on an APNG it first decodes every frame to reach the last one.
    raw_text = scan.texts if scan else {}
    for key, value in list(raw_text.items())[:256]:
        texts[str(key)[:80]] = str(value)[: limits.max_text_chunk_bytes]
    for key in ("comment", "Comment", "parameters", "prompt", "workflow", "Description"):
        value = photo.info.get(key)
        if value and key not in texts:
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            texts[key] = str(value)[: limits.max_text_chunk_bytes]
    photo.text_chunks = texts

    packets: list[str] = []
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = photo.info.get(key) or texts.get(key)
        if value:
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            packets.append(value[: limits.max_xmp_bytes])
    photo.xmp = packets
    photo.exif, photo.exif_raw = read_exif(im)


_IFD_NAMES = {
    ExifTags.IFD.Exif: "",
    ExifTags.IFD.GPSInfo: "GPS",
    ExifTags.IFD.Interop: "Interop",
}


def read_exif(im: Image.Image) -> tuple[dict[str, Any], bytes | None]:
    """Flatten EXIF into {TagName: value}; GPS tags are prefixed 'GPS'. Never raises."""
    with warnings.catch_warnings():  # hostile EXIF makes Pillow warn per bad tag: no log floods
        warnings.simplefilter("ignore")
        return _read_exif(im)


def _read_exif(im: Image.Image) -> tuple[dict[str, Any], bytes | None]:
    try:
        exif = im.getexif()
    except Exception:
        return {}, None
    out: dict[str, Any] = {}
    try:
        for tag, value in list(exif.items())[:512]:
            out[ExifTags.TAGS.get(tag, f"Tag{tag:#06x}")] = value
        for ifd, prefix in _IFD_NAMES.items():
            try:
                sub = exif.get_ifd(ifd)
            except Exception:
                continue
            names = ExifTags.GPSTAGS if prefix == "GPS" else ExifTags.TAGS
            for tag, value in list(sub.items())[:512]:
                name = names.get(tag, f"Tag{tag:#06x}")
                out[name if not prefix or name.startswith(prefix) else prefix + name] = value
    except Exception:
        pass
    raw = im.info.get("exif")
    return out, raw if isinstance(raw, bytes) else None
