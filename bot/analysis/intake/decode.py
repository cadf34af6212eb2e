"""Safe intake: turn untrusted bytes into a decoded Photo, or a clear, coded refusal.

Everything here assumes hostile input: sizes are checked before decoding, Pillow's
decompression-bomb guard is strict, text chunks are capped, and every failure maps to
a stable error code with one human sentence.
"""

from __future__ import annotations

import io
import logging
import struct

from PIL import Image, UnidentifiedImageError

from bot.analysis.intake.containers import (
    PngScan,
    check_jpeg_segments,
    count_gif_frames,
    count_tiff_pages,
    scan_png,
)
from bot.analysis.intake.exif_reader import read_exif
from bot.analysis.intake.photo import Photo
from bot.analysis.intake.pillow_guards import pillow_limits
from bot.analysis.intake.refusals import (
    IntakeError,
    bomb,
    corrupt,
    empty_file,
    not_an_image,
    too_complex,
    too_large,
    too_many_frames,
    unsupported_format,
)
from bot.analysis.intake.sniff import sniff_image, sniff_non_image
from bot.settings import Limits

log = logging.getLogger(__name__)

SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF", "AVIF", "TIFF", "BMP"}


def open_photo(data: bytes, filename: str, limits: Limits) -> Photo:
    """Decode `data` safely or raise IntakeError with a code and a human sentence."""
    if not data:
        raise empty_file()
    if len(data) > limits.max_bytes:
        raise too_large(limits)
    other = sniff_non_image(data[:1024])
    if other:
        raise not_an_image(other)
    try:
        with pillow_limits(limits):
            return _decode(data, filename, limits)
    except IntakeError:
        raise
    except MemoryError:
        raise too_complex() from None
    except Exception as exc:  # a decoder bug must still end in a clean refusal
        log.warning("unexpected decode failure on %s: %r", filename, exc)
        raise corrupt(exc, sniff_image(data[:16])) from None


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
        raise bomb(limits) from None
    except UnidentifiedImageError:
        if promised:  # right magic, unreadable body: damaged, not "not an image"
            raise corrupt(None, promised) from None
        raise not_an_image(None) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise corrupt(exc, promised, limits) from None
    fmt = (im.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:
        raise unsupported_format(fmt)
    if im.width * im.height > limits.max_pixels:
        raise bomb(limits)
    frames = _count_frames(im, fmt, frames_seen, scan, limits)
    try:
        im.seek(0)
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb(limits) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise corrupt(exc, promised, limits) from None
    photo = Photo(
        data=data, filename=filename, format=fmt, image=im, frames=frames, info=dict(im.info)
    )
    if scan:
        photo.damaged_chunks = scan.bad_crc
    _read_containers(photo, im, scan, limits)
    return photo


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
        raise too_many_frames(limits)
    return max(1, count)


def _read_containers(photo: Photo, im: Image.Image, scan: PngScan | None, limits: Limits) -> None:
    """Gather text chunks, comments, XMP packets and EXIF, bounded in size."""
    texts: dict[str, str] = {}
    # PNG: our own walk, which includes chunks after the image data. Pillow's `im.text` would
    # do too, but on an APNG it first decodes every frame to reach the last one.
    raw_text = scan.texts if scan else {}
    for key, text in list(raw_text.items())[:256]:
        texts[str(key)[:80]] = str(text)[: limits.max_text_chunk_bytes]
    for key in ("comment", "Comment", "parameters", "prompt", "workflow", "Description"):
        value = photo.info.get(key)
        if value and key not in texts:
            texts[key] = _as_text(value)[: limits.max_text_chunk_bytes]
    photo.text_chunks = texts

    packets: list[str] = []
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = photo.info.get(key) or texts.get(key)
        if value:
            packets.append(_as_text(value)[: limits.max_xmp_bytes])
    photo.xmp = packets
    photo.exif, photo.exif_raw = read_exif(im)


def _as_text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
