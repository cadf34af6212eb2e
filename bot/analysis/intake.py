"""Safe intake: turn untrusted bytes into a decoded Photo, or a clear, coded refusal.

Everything here assumes hostile input: sizes are checked before decoding, Pillow's
decompression-bomb guard is strict, text chunks are capped, and every failure maps to
a stable error code with one human sentence.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from PIL import ExifTags, Image, ImageFile, PngImagePlugin

from bot.settings import Limits

try:  # HEIC/HEIF from phones; optional at import so a broken wheel degrades to "unsupported"
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform's wheel
    pillow_heif = None

ACCEPTED = "JPEG, PNG, WebP, HEIC or AVIF"
SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF", "AVIF", "TIFF", "BMP"}


class IntakeError(Exception):
    """A file we will not analyse. `code` is stable (for JSON and logs); `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
        """The first frame as RGB (alpha flattened onto white)."""
        im = self.image
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            return canvas
        return im.convert("RGB")

    def downscaled(self, max_side: int) -> Image.Image:
        """RGB copy whose longest side is at most max_side (never upscaled)."""
        im = self.rgb
        scale = max_side / max(im.size)
        if scale >= 1:
            return im
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


@contextmanager
def _pillow_limits(limits: Limits) -> Iterator[None]:
    """Pillow's guards are module globals: set them for this decode (workers decode one at a time)."""
    saved = (Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY)
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    PngImagePlugin.MAX_TEXT_CHUNK = limits.max_text_chunk_bytes
    PngImagePlugin.MAX_TEXT_MEMORY = limits.max_text_total_bytes
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY = saved


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
    with _pillow_limits(limits):
        return _decode(data, filename, limits)


def _decode(data: bytes, filename: str, limits: Limits) -> Photo:
    try:
        im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(limits) from None
    except Image.UnidentifiedImageError:
        raise IntakeError(
            "not_an_image", f"This file is not an image I can read. Send a {ACCEPTED}."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _corrupt(exc) from None
    fmt = (im.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:
        raise IntakeError(
            "unsupported_format",
            f"{fmt or 'This'} files are not supported. Send a {ACCEPTED}.",
        )
    if im.width * im.height > limits.max_pixels:
        raise _bomb(limits)
    frames = _count_frames(im, limits)
    try:
        im.seek(0)
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(limits) from None
    except MemoryError:
        raise _bomb(limits) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise _corrupt(exc) from None
    photo = Photo(data=data, filename=filename, format=fmt, image=im, frames=frames, info=dict(im.info))
    _read_containers(photo, im, limits)
    return photo


def _count_frames(im: Image.Image, limits: Limits) -> int:
    if not getattr(im, "is_animated", False):
        return 1
    count = 0
    try:
        while True:
            count += 1
            if count > limits.max_frames:
                raise IntakeError(
                    "too_many_frames",
                    f"This animation has more than {limits.max_frames} frames. "
                    "Send a still photo (or one frame of it).",
                )
            im.seek(count)
    except EOFError:
        return count
    except IntakeError:
        raise
    except Exception:
        return count  # a damaged later frame does not stop us checking the first


def _bomb(limits: Limits) -> IntakeError:
    return IntakeError(
        "decompression_bomb",
        f"This image claims more than {limits.max_pixels / 1e6:g} million pixels, far more than any "
        "headshot needs; I did not open it. Send an ordinary-sized photo.",
    )


def _corrupt(exc: BaseException) -> IntakeError:
    if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
        return IntakeError(
            "truncated",
            "This image is cut off (the file is incomplete). Send the whole file again.",
        )
    return IntakeError("corrupt", "This image is damaged and cannot be decoded. Try another copy.")


def _read_containers(photo: Photo, im: Image.Image, limits: Limits) -> None:
    """Gather text chunks, comments, XMP packets and EXIF, bounded in size."""
    texts: dict[str, str] = {}
    raw_text = getattr(im, "text", None) or {}  # PNG: includes chunks after the image data
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
