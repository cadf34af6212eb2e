"""Slack files → ImageInputs: resolve with files.info when needed, check that the asker may see
the file, download `url_private` with the bot token (only from Slack's own file hosts,
streamed, capped, timed), and turn Slack API errors into messages people understand.

The bot token can read files the asker cannot, so every path that takes a file (DMs, the
modal, the message shortcut, file links) comes through `collect`: a file is checked only if
the asker uploaded it or it is shared in a conversation they are in; someone else's photo is
checked without its privacy details and never offered as a metadata-free copy."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages as catalogue
from bot.adapters.slack_listeners.bridge import Bridge
from bot.core.download import DownloadError, fetch
from bot.core.request import ImageInput, Request
from bot.render.slack import IMAGE_FILETYPES

IntakeError = tuple[str, str, str]  # (file, code, message), as Request.intake_errors
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
NOT_FOUND = frozenset({"file_not_found", "file_deleted", "channel_not_found", "access_denied"})
# Slack file IDs in a file link (…/files/U123/F0ABC12345/name or …/files-pri/T123-F0ABC12345/…).
# IDs contain a digit, so words like FACEBOOK are not taken for one.
MEMBERS_PAGE = 1000  # conversations.members page size (Slack's maximum)
FILE_ID = re.compile(r"(?<![A-Z0-9])(F(?=[A-Z]*[0-9])[A-Z0-9]{6,})(?![A-Z0-9])")


def api_error_message(exc: SlackApiError) -> tuple[str, str]:
    """(code, message) for a failed Web API call."""
    errors = catalogue.table("slack.errors")
    code = str(exc.response.get("error") or "slack_error")
    if code == "ratelimited":
        retry = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        seconds = retry if retry and str(retry).isdigit() else "30"
        return code, errors["ratelimited"].format(seconds=seconds)
    if code in AUTH_ERRORS:
        return code, errors["invalid_auth"]
    if code in NOT_FOUND:
        return code, errors["file_not_found"]
    if code == "missing_scope":
        scope = str(exc.response.get("needed") or "channels:read")
        return code, catalogue.text("moderation.missing_scope.summary", scope=scope)
    return code, errors["slack_error"].format(error=code)


def file_ids(text: str) -> list[str]:
    """Slack file IDs named in a command's text (a file link, or a bare ID)."""
    return list(dict.fromkeys(FILE_ID.findall(text)))


def is_image(f: dict[str, Any]) -> bool:
    mimetype = str(f.get("mimetype") or "")
    filetype = str(f.get("filetype") or "").lower()
    return mimetype.startswith("image/") or filetype in IMAGE_FILETYPES


def _display_name(f: dict[str, Any]) -> str:
    return str(f.get("name") or f.get("title") or f.get("id") or "file")


def _needs_info(f: dict[str, Any]) -> bool:
    # Events may carry stub file objects ("check_file_info") without URLs or types.
    return f.get("file_access") == "check_file_info" or not (
        f.get("url_private_download") or f.get("url_private")
    )


@dataclass
class Asker:
    user: str
    where: str | None  # a conversation Slack vouches the asker is in
    others: bool = False  # set when a file someone else uploaded is let through


async def collect(
    bridge: Bridge,
    client: AsyncWebClient,
    req: Request,
    files: list[dict[str, Any]],
    where: str | None = None,
) -> None:
    """Download the images among `files` that req.user_id may see (at the same time) into
    req.images; everything else becomes an intake error with a clear message. `where`: a
    conversation Slack says the asker is in (where they typed or clicked)."""
    limit = bridge.settings.slack.max_files
    asker = Asker(req.user_id, where)
    results = await asyncio.gather(
        *(_one_or_error(bridge, client, f, asker) for f in files[:limit])
    )
    req.images = [r for r in results if isinstance(r, ImageInput)]
    req.intake_errors = [r for r in results if not isinstance(r, ImageInput)]
    if len(files) > limit:
        too_many = catalogue.text("slack.errors.too_many", limit=limit)
        req.intake_errors.append((f"{len(files) - limit} more files", "too_many", too_many))
    if asker.others:  # someone else's photo: no location, serials or stripped copy
        req.for_owner = False


async def collect_ids(
    bridge: Bridge,
    client: AsyncWebClient,
    req: Request,
    ids: list[str],
    where: str | None = None,
) -> None:
    """Like collect(), for file IDs (from a file link): always resolved with files.info."""
    stubs = [{"id": i, "file_access": "check_file_info"} for i in ids]
    await collect(bridge, client, req, stubs, where)


async def _one_or_error(
    bridge: Bridge, client: AsyncWebClient, f: dict[str, Any], asker: Asker
) -> ImageInput | IntakeError:
    name = _display_name(f)
    try:
        return await _one(bridge, client, f, asker)
    except SlackApiError as exc:
        return (name, *api_error_message(exc))
    except DownloadError as exc:
        return (name, exc.code, exc.message)
    except _NotImage as exc:
        return (name, "not_an_image", str(exc))
    except _NotVisible:  # named by id: its name is not the asker's to learn either
        return (
            str(f.get("id") or "file"),
            "not_visible",
            catalogue.text("slack.errors.not_visible"),
        )


class _NotImage(Exception):
    pass


class _NotVisible(Exception):
    pass


async def _one(
    bridge: Bridge, client: AsyncWebClient, f: dict[str, Any], asker: Asker
) -> ImageInput:
    # Events carry no sharing details: someone else's file is looked up in files.info.
    if _needs_info(f) or f.get("user") != asker.user:
        f = (await client.files_info(file=f["id"]))["file"]
    if not await _may_see(client, f, asker):
        raise _NotVisible
    name = _display_name(f)
    if not is_image(f):
        kind = f.get("pretty_type") or f.get("filetype") or f.get("mimetype") or "unknown"
        raise _NotImage(catalogue.text("slack.errors.not_an_image", kind=kind))
    max_bytes = bridge.settings.limits.max_bytes
    if int(f.get("size") or 0) > max_bytes:
        too_large = catalogue.text("refusals.too_large", mb=f"{max_bytes / 1e6:g}")
        raise DownloadError("too_large", too_large)
    url = str(f.get("url_private_download") or f.get("url_private") or "")
    data = await fetch(
        bridge.session(),
        url,
        allowed_hosts=bridge.settings.slack.file_hosts,
        max_bytes=max_bytes,
        timeout_s=bridge.settings.download.timeout_s,
        # fetch() refuses other hosts before sending anything, so the token stays with Slack.
        headers={"Authorization": f"Bearer {client.token}"},
        chunk_bytes=bridge.settings.download.chunk_bytes,
    )
    return ImageInput(name, data)


async def _may_see(client: AsyncWebClient, f: dict[str, Any], asker: Asker) -> bool:
    """The asker uploaded the file, or it is shared in a conversation they are in."""
    if f.get("user") == asker.user:
        return True
    places = _shared_in(f)
    seen = asker.where in places or await _in_any(client, places, asker.user)
    asker.others |= seen
    return seen


async def _in_any(client: AsyncWebClient, conversations: list[str], user: str) -> bool:
    for conversation in conversations:
        if await _is_member(client, conversation, user):
            return True
    return False


def _shared_in(f: dict[str, Any]) -> list[str]:
    """Conversations a files.info object says the file is shared in (public, private, DMs)."""
    places = [*(f.get("channels") or []), *(f.get("groups") or []), *(f.get("ims") or [])]
    for kind in ("public", "private"):
        places += list(((f.get("shares") or {}).get(kind) or {}).keys())
    return list(dict.fromkeys(str(p) for p in places))


async def _is_member(client: AsyncWebClient, conversation: str, user: str) -> bool:
    """Whether `user` is in `conversation`, over all conversations.members pages. A
    conversation the app cannot see (a DM between two people) counts as no."""
    cursor: str | None = None
    while True:
        try:
            resp = await client.conversations_members(
                channel=conversation, limit=MEMBERS_PAGE, **({"cursor": cursor} if cursor else {})
            )
        except SlackApiError as exc:
            if exc.response.get("error") in ("missing_scope", "ratelimited"):
                raise  # the asker hears this, not a wrong "not yours"
            return False
        if user in (resp.get("members") or []):
            return True
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return False
