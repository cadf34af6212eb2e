"""The moderator flows' one view of a chat platform (bot/audit/flows.py speaks only to this).

Each adapter implements `ModerationPort` for one server (a Discord guild, a Slack workspace):
bot/adapters/discord_moderation.py (`DiscordModeration`) and
bot/adapters/slack_listeners/port.py (`SlackModeration`). An `AuditView` is where one audit
shows itself to the moderator who asked (an interaction's response, a DM message)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from bot import messages
from bot.audit.runner import Member
from bot.core.reply import Reply
from bot.core.request import Platform
from bot.errors import CodedError

if TYPE_CHECKING:
    from bot.audit.audit_service import ServerSettings

OnListed = Callable[[int], Awaitable[None]]


class MembersUnavailable(CodedError):
    """The platform did not give the member list (codes: timeout, platform_error)."""

    section = "moderation.members_unavailable"


class MissingPermission(CodedError):
    """The app lacks a platform permission the check needs (the admin has to hear of it)."""

    section = "moderation"

    def __init__(self, scope: str) -> None:
        super().__init__(
            "missing_scope", messages.text("moderation.missing_scope.summary", scope=scope)
        )
        self.scope = scope


class DeliveryFailed(Exception):
    """A post the platform refused (`error`: its own code, for the moderator to act on)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class ServerInfo:
    name: str
    member_url: str | None = None  # a link template for members, "…/users/{id}"


@dataclass
class AuditOptions:
    """What the moderator asked for; kept with the run, so a resumed run covers the same."""

    role: str | None = None  # only members with this role (where the platform has roles)
    only_new: bool = False  # only members who joined since the last finished audit
    since: float | None = None  # filled in: when that audit was

    def stored(self) -> dict[str, object]:
        return {"role": self.role, "only_new": self.only_new, "since": self.since}

    @classmethod
    def from_stored(cls, data: dict[str, object]) -> AuditOptions:
        role, since = data.get("role"), data.get("since")
        return cls(
            role=str(role) if role else None,
            only_new=bool(data.get("only_new")),
            since=float(since) if isinstance(since, int | float) else None,
        )

    def asks_same(self, other: AuditOptions) -> bool:
        return (self.role, self.only_new) == (other.role, other.only_new)


class AuditView(Protocol):
    """Where one audit shows its progress, and how its requester hears privately."""

    # Where `tell` reaches the requester: right there ("here") or in a direct message ("dm").
    place: Literal["here", "dm"]

    async def show(self, reply: Reply) -> None:
        """Show progress (replacing what was shown); a failure is the view's to log."""

    async def tell(self, replies: list[Reply]) -> bool:
        """Send privately to the requester; False when that is no longer possible here."""


class ModerationPort(Protocol):
    """One server of one platform, as the moderator flows need it."""

    platform: Platform
    server_id: str

    async def server(self) -> ServerInfo: ...

    async def is_moderator(self, user_id: str) -> bool:
        """May moderate now (raises MissingPermission when the app cannot tell)."""

    async def is_admin(self, user_id: str) -> bool:
        """May choose who moderates (Manage Server; a workspace admin or owner)."""

    def members_problem(self) -> Reply | None:
        """Why members cannot be listed at all on this platform now (None: they can)."""

    async def members(self, options: AuditOptions, on_listed: OnListed) -> list[Member]:
        """Everyone an audit covers (bots left out), `options.role` applied; raises
        MembersUnavailable. Members carry `joined_at` where the platform says it."""

    async def fetch_avatar(self, member: Member) -> bytes: ...

    async def post(self, channel_id: str, replies: list[Reply]) -> None:
        """Into a channel (the mod-log), buttons as their ids say; raises DeliveryFailed."""

    async def direct_message(self, user_id: str, replies: list[Reply]) -> None: ...

    def channel_label(self, channel_id: str) -> str: ...

    def role_label(self, role_id: str) -> str: ...

    def settings_notes(self, prefs: ServerSettings) -> tuple[list[str], list[str]]:
        """This platform's (problems, hints) under the settings."""

    def resume_view(self, requester: str) -> AuditView:
        """Where a resumed audit (no interaction left) shows itself."""
