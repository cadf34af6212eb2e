"""One base for the refusals people read: a stable code plus its wording from the catalogue."""

from __future__ import annotations

from typing import ClassVar

from bot import messages


class CodedError(Exception):
    """A refusal with a stable `code` (for JSON, logs and tests) and a `message` for people.

    Subclasses name the catalogue table their codes are worded in; `message` may also be given
    directly where the sentence is built from parts."""

    section: ClassVar[str] = ""

    def __init__(self, code: str, message: str | None = None, **fmt: object) -> None:
        if message is None:
            message = messages.text(f"{self.section}.{code}", **fmt)
        super().__init__(message)
        self.code = code
        self.message = message


def too_large_message(max_bytes: int) -> str:
    """The one wording of "this file is over the size limit", wherever a file is refused
    (downloads, the command line, adapters that know an upload's size)."""
    return messages.text("refusals.too_large", mb=f"{max_bytes / 1e6:g}")
