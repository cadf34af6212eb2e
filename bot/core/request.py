"""What adapters hand the core: a platform-neutral request."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.analysis.pipeline.findings import strip_bidi


class Platform(StrEnum):
    """Where a request came from: the one name for each platform, everywhere."""

    DISCORD = "discord"
    SLACK = "slack"
    CONSOLE = "console"
    CLI = "cli"

    @property
    def is_local(self) -> bool:
        """The person at the keyboard is the operator, and there are no buttons."""
        return self in LOCAL_PLATFORMS


LOCAL_PLATFORMS = frozenset({Platform.CONSOLE, Platform.CLI})


class Kind(StrEnum):
    CHECK = "check"  # check the attached images
    ASK = "ask"  # answer a question
    DISCLOSE = "disclose"  # disclosure suggestions for a context
    HELP = "help"
    MESSAGE = "message"  # free chat (DMs, console): images are checked, text is answered


@dataclass(frozen=True)
class Admission:
    """What the per-user rate limit let through: `granted` of `wanted` items, and the seconds
    until the next one would fit (0 when all were granted)."""

    wanted: int
    granted: int
    wait_s: float = 0.0


@dataclass(frozen=True)
class ImageInput:
    filename: str
    data: bytes

    def __post_init__(self) -> None:
        # The name is echoed in titles, file lists and the stripped copy's name: no
        # bidirectional controls, so "photo<RLO>gpj.exe" cannot pass for "photoexe.jpg".
        object.__setattr__(self, "filename", strip_bidi(self.filename))


@dataclass
class Request:
    kind: Kind
    platform: Platform
    user_id: str = "local"
    text: str = ""
    images: list[ImageInput] = field(default_factory=list)
    context: str | None = None  # where the photo will be used: linkedin, resume, …
    tool: str | None = None  # the AI tool a person used, for disclosure text
    edit_only: bool = False
    # The person asked for the result to be shown to everyone: privacy findings then go in a
    # separate private reply.
    public: bool = False
    # False when checking someone else's photo (a context menu on another person's message):
    # its privacy details (where it was taken, serial numbers) are then not shown at all.
    for_owner: bool = True
    # Set by adapters whose platform re-encodes uploads (so missing metadata is explained).
    platform_note: str | None = None
    # The images the note is about (by file name); None: all of them. Discord's note is about
    # JPEGs only, and a message can mix JPEGs and PNGs.
    note_files: frozenset[str] | None = None
    # Errors an adapter met before the core (a failed download, say), shown like check errors.
    intake_errors: list[tuple[str, str, str]] = field(default_factory=list)  # (file, code, message)
    # Set by adapters that asked HeadshotService.admit before downloading: `images` are then
    # already counted, and `left_out` names the files the limit kept out (never downloaded).
    admission: Admission | None = None
    left_out: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # An adapter may name its platform by the enum's value ("slack"): one type inside.
        self.platform = Platform(self.platform)
