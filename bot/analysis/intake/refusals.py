"""The coded refusals of intake: a stable code and one sentence (config/messages/intake.toml)
saying what to send instead."""

from __future__ import annotations

from bot import messages
from bot.errors import CodedError
from bot.settings import Limits


class IntakeError(CodedError):
    """A file we will not analyse."""

    section = "intake.refusals"


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def _accepted() -> str:
    return messages.text("intake.accepted")


def empty_file() -> IntakeError:
    return IntakeError("empty_file")


def too_large(limits: Limits) -> IntakeError:
    """Worded as every other door words it (refusals.too_large)."""
    return IntakeError(
        "too_large", messages.text("refusals.too_large", mb=f"{limits.max_bytes / 1e6:g}")
    )


def not_an_image(kind: str | None) -> IntakeError:
    """`kind`: what the first bytes say the file is (sniff_non_image), or None when they say
    nothing."""
    if kind:
        what = messages.table("intake.not_images")[kind]
        return IntakeError("not_an_image", what=what, accepted=_accepted())
    return IntakeError(
        "not_an_image", messages.text("intake.refusals.unreadable", accepted=_accepted())
    )


def unsupported_format(fmt: str) -> IntakeError:
    names = messages.table("intake.formats")
    name = str(names.get(fmt, fmt or names["unnamed"]))
    return IntakeError("unsupported_format", format=name, accepted=_accepted())


def too_many_frames(limits: Limits) -> IntakeError:
    return IntakeError("too_many_frames", frames=limits.max_frames)


def bomb(limits: Limits) -> IntakeError:
    return IntakeError("decompression_bomb", megapixels=f"{limits.max_pixels / 1e6:g}")


def metadata_bomb(limits: Limits) -> IntakeError:
    return IntakeError("metadata_too_large", size=_mb(limits.max_text_chunk_bytes))


def too_complex_structure(kind: str, unit: str, limit: int) -> IntakeError:
    message = messages.text(
        "intake.refusals.too_complex_structure", kind=kind, limit=f"{limit:,}", unit=unit
    )
    return IntakeError("too_complex", message)


def too_complex() -> IntakeError:
    return IntakeError("too_complex")


def corrupt(
    exc: BaseException | None, promised: str | None, limits: Limits | None = None
) -> IntakeError:
    """Damaged or cut off, in words that name the format the file promised."""
    text = str(exc or "").lower()
    if limits and ("max_text" in text or "text chunks" in text):
        return metadata_bomb(limits)
    if promised:
        kind = messages.text("intake.kinds.promised", format=promised)
    else:
        kind = messages.text("intake.kinds.unknown")
    if "truncated" in text or isinstance(exc, EOFError):
        return IntakeError("truncated", kind=kind)
    return IntakeError("corrupt", kind=kind)
