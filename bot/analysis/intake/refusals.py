"""The coded refusals of intake: a stable code and one sentence saying what to send instead."""

from __future__ import annotations

from bot.analysis.intake.sniff import ACCEPTED
from bot.errors import CodedError
from bot.settings import Limits


class IntakeError(CodedError):
    """A file we will not analyse."""


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def empty_file() -> IntakeError:
    return IntakeError("empty_file", "This file is empty. Send the photo itself.")


def too_large(size: int, limits: Limits) -> IntakeError:
    return IntakeError(
        "too_large",
        f"This file is {_mb(size)}; the limit is {_mb(limits.max_bytes)}. "
        "Send a smaller copy of the photo.",
    )


def not_an_image(other: str | None) -> IntakeError:
    """`other`: what the first bytes say the file is ("a PDF"), or None when they say nothing."""
    if other:
        return IntakeError("not_an_image", f"This file is {other}, not a photo. Send a {ACCEPTED}.")
    return IntakeError("not_an_image", f"This file is not an image I can read. Send a {ACCEPTED}.")


# Pillow names the formats it reads but we do not; people know them by these names.
_FORMAT_NAMES = {"PSD": "Photoshop (PSD)", "ICO": "Icon (ICO)", "EPS": "PostScript (EPS)"}


def unsupported_format(fmt: str) -> IntakeError:
    return IntakeError(
        "unsupported_format",
        f"{_FORMAT_NAMES.get(fmt, fmt or 'These')} files are not supported. Send a {ACCEPTED}.",
    )


def too_many_frames(limits: Limits) -> IntakeError:
    return IntakeError(
        "too_many_frames",
        f"This file holds more than {limits.max_frames} frames or pages. "
        "Send a still photo (or one frame of it).",
    )


def bomb(limits: Limits) -> IntakeError:
    return IntakeError(
        "decompression_bomb",
        f"This image claims more than {limits.max_pixels / 1e6:g} million pixels, far more than "
        "any headshot needs; I did not open it. Send an ordinary-sized photo.",
    )


def metadata_bomb(limits: Limits) -> IntakeError:
    return IntakeError(
        "metadata_too_large",
        f"This image carries more embedded text than I read (over "
        f"{_mb(limits.max_text_chunk_bytes)} in one piece); ordinary photos carry far less, "
        "so I did not open it. Send another copy of the photo.",
    )


def too_complex_structure(kind: str, unit: str, limit: int) -> IntakeError:
    return IntakeError(
        "too_complex",
        f"This {kind} file is split into more than {limit:,} {unit}, far more than any photo; "
        "I did not open it. Send another copy of the photo.",
    )


def too_complex() -> IntakeError:
    return IntakeError(
        "too_complex",
        "This image needs more memory to open than I allow. Send a smaller or simpler copy.",
    )


def corrupt(
    exc: BaseException | None, promised: str | None, limits: Limits | None = None
) -> IntakeError:
    text = str(exc or "").lower()
    if limits and ("max_text" in text or "text chunks" in text):
        return metadata_bomb(limits)
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
