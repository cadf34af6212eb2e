"""A small fake Discord for end-to-end tests of the real discord.py client.

One aiohttp server on 127.0.0.1 (on its own thread and event loop by default, as Discord is not
in the bot's process: the bot's event-loop lag is then the bot's alone) serves:
- the REST routes the bot uses, under /api/v10 (login, application info, gateway discovery,
  command sync, interaction callbacks and follow-ups (JSON or multipart with files), channel
  messages, typing, DM channels, one guild member by id);
- a fake CDN under /cdn (attachments and avatars);
- a websocket gateway at /gateway (HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats → ACK,
  RESUME → RESUMED, REQUEST_GUILD_MEMBERS → GUILD_MEMBERS_CHUNKs, dispatches such as
  INTERACTION_CREATE, MESSAGE_CREATE, MESSAGE_REACTION_ADD, GUILD_MEMBER_ADD and
  GUILD_MEMBER_UPDATE).

Sharding as Discord does it: GET /gateway/bot recommends `shards`; each IDENTIFY carries
`shard: [id, count]` and that session gets only the guilds with `(guild_id >> 22) % count == id`
(`add_guild` makes more guilds, on a chosen shard); a guild's events go to the one session
serving its shard, DMs to shard 0. Several bot processes may connect at once.

A guild message reaches the bot as Discord sends it: without the Message Content intent in the
bot's IDENTIFY, its content and attachments are empty unless it mentions the bot. Reactions the
bot adds are recorded in `reactions`.

A guild of any size: `add_guild_member` puts members (with avatars on the fake CDN) in it; they
reach the bot only through member chunking (or one at a time by id), as on Discord. Roles can
carry permissions (`add_role(name, permissions)`), so a member's own permissions can be
computed without an interaction. An IDENTIFY asking for the Server
Members intent is refused (close code 4014) unless `members_intent_enabled`, as Discord does
when the intent is not switched on in the Developer Portal.

Everything the bot sends is recorded, so tests assert on what Discord would have received.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

API = "/api/v10"
EPHEMERAL = 1 << 6
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = 2248473465835073  # what an ordinary member has (no Manage Server)
MODERATOR_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD
GUILD_MEMBERS_INTENT = 1 << 1
MESSAGE_CONTENT_INTENT = 1 << 15
CHUNK_SIZE = 1000  # members per GUILD_MEMBERS_CHUNK, as Discord sends them
_ids = itertools.count(1_100_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_ids))


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py's login rejects a charset suffix.
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class Session:
    """One gateway session: the shard it identified for, and its own sequence numbers."""

    ws: web.WebSocketResponse
    shard: tuple[int, int]  # (id, count)
    id: str
    seq: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def serves(self, guild_id: str | None) -> bool:
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else (int(guild_id) >> 22) % count)


def guild_id_on_shard(shard_id: int, count: int) -> str:
    """A new guild id that Discord would deliver to shard `shard_id` of `count`."""
    n = int(snowflake())
    while (n >> 22) % count != shard_id:
        n += 1 << 22
    return str(n)


@dataclass
class Sent:
    """A message the bot sent: a follow-up, a channel message or a callback with content."""

    route: str  # followup | channel | callback | edit
    key: str  # interaction token or channel id
    payload: dict[str, Any]
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.payload.get("embeds") or []

    @property
    def ephemeral(self) -> bool:
        return bool((self.payload.get("flags") or 0) & EPHEMERAL)

    @property
    def custom_ids(self) -> list[str]:
        return [
            c["custom_id"]
            for row in self.payload.get("components") or []
            for c in row.get("components", [])
            if "custom_id" in c
        ]

    def text(self) -> str:
        """All visible text of the message, for assertions."""
        parts = [self.payload.get("content") or ""]
        for e in self.embeds:
            parts += [e.get("title", ""), e.get("description", "")]
            parts += [f"{f['name']}\n{f['value']}" for f in e.get("fields", [])]
            parts.append((e.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)


class FakeDiscord:
    def __init__(self, heartbeat_interval_ms: int = 41250) -> None:
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.app_id = snowflake()
        self.bot_user = self.user("headshot-check", bot=True, user_id=self.app_id)
        self.guild_id = snowflake()
        self.channel_id = snowflake()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every REST call
        self.unknown: list[tuple[str, str]] = []  # REST calls the fake does not know
        self.sent: list[Sent] = []
        self.callbacks: dict[str, dict[str, Any]] = {}  # interaction id -> callback payload
        self.command_syncs: list[tuple[str, list[dict[str, Any]]]] = []  # (scope, commands)
        self.gateway_ops: list[dict[str, Any]] = []  # everything the bot sent on the gateway
        self.heartbeats: list[float] = []  # when each heartbeat arrived (each is ACKed at once)
        self.identifies = 0
        self.resumes = 0
        self._cdn: dict[str, tuple[bytes, str]] = {}
        self.cdn_delay_s = 0.0  # a slow CDN, to catch an audit in the middle
        self.guild_members: dict[str, dict[str, Any]] = {}  # user id -> member payload
        self.roles: list[dict[str, Any]] = []  # roles besides @everyone
        self.text_channels: list[dict[str, Any]] = []  # channels besides #general
        self.members_intent_enabled = True  # the Developer Portal switch
        self.answer_member_requests = True  # False: REQUEST_GUILD_MEMBERS goes unanswered
        self.member_requests: list[dict[str, Any]] = []
        self.dm_channels: dict[str, str] = {}  # DM channel id -> recipient id
        self.intents = 0  # what the bot asked for in its last IDENTIFY
        self.reactions: list[tuple[str, str, str]] = []  # (channel, message, emoji) the bot added
        self._avatar_ids = itertools.count(1)
        self.shards = 1  # the shard count GET /gateway/bot recommends
        self.other_guilds: dict[str, str] = {}  # guild id -> its one channel (besides guild_id)
        self.other_owners: dict[str, dict[str, Any]] = {}  # guild id -> its owner (a user)
        self.sessions: dict[int, Session] = {}  # shard id -> its latest session
        self._last: Session | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- server ------------------------------------------------------------------------------
    async def start_in_thread(self) -> FakeDiscord:
        """Run the server on a thread with its own event loop."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        await self._on_server(self.start())
        return self

    async def _on_server(self, coro):
        """Run a coroutine on the server's loop, from whichever loop calls."""
        loop = getattr(self, "_loop", None)
        if loop is None or loop is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    async def stop(self) -> None:
        await self._on_server(self.close())
        loop = getattr(self, "_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
            loop.close()

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{path:.*}", self._cdn_get)
        app.router.add_route("*", API + "/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"http://{self.host}{API}"

    @property
    def cdn_base(self) -> str:
        return f"http://{self.host}/cdn"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}/gateway"

    def bot_settings(self, base: Any, data_dir: Any, **discord: Any) -> Any:
        """`base` (bot Settings) pointed at this fake, with a fresh data dir, no rate limit
        in the way of the tests, and any extra `[discord]` values."""
        pointed = base.discord.model_copy(
            update={
                "api_base": self.api_base,
                "cdn_base": self.cdn_base,
                "attachment_hosts": [self.host],
                "guild_ready_timeout": 0.01,
                "dev_guild_id": None,
                **discord,
            }
        )
        return base.model_copy(
            update={
                "discord": pointed,
                "data_dir": data_dir,
                "rate_limit": base.rate_limit.model_copy(update={"per_user_per_minute": 1000}),
            }
        )

    # -- payload builders ------------------------------------------------------------------------
    @staticmethod
    def user(
        name: str, *, bot: bool = False, user_id: str | None = None, avatar: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": user_id or snowflake(),
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": avatar,
            "bot": bot,
            "public_flags": 0,
        }

    def member(
        self,
        user: dict[str, Any],
        *,
        roles: list[str] | None = None,
        permissions: int = MEMBER_PERMISSIONS,
        joined_at: str | None = None,
    ) -> dict[str, Any]:
        return {
            "user": user,
            "roles": roles or [],
            "joined_at": joined_at or _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        }

    @property
    def session_id(self) -> str:
        """The latest session's id; set it to make the gateway forget that session."""
        return self._last.id if self._last else ""

    @session_id.setter
    def session_id(self, value: str) -> None:
        if self._last is not None:
            self._last.id = value

    def add_guild(
        self, shard_id: int = 0, count: int = 1, owner: dict[str, Any] | None = None
    ) -> str:
        """Another (small) guild the bot is in, on shard `shard_id` of `count`; `owner` (a
        user) owns it, so is its moderator, and is its one member besides the bot."""
        guild_id = guild_id_on_shard(shard_id, count)
        self.other_guilds[guild_id] = snowflake()
        if owner is not None:
            self.other_owners[guild_id] = owner
        return guild_id

    def channel_of(self, guild_id: str) -> str:
        return self.channel_id if guild_id == self.guild_id else self.other_guilds[guild_id]

    # -- the guild's members, roles and channels ----------------------------------------------
    def add_role(self, name: str, permissions: int = 0) -> dict[str, Any]:
        role = {
            "id": snowflake(),
            "name": name,
            "permissions": str(permissions),
            "position": len(self.roles) + 1,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        self.roles.append(role)
        return role

    def add_text_channel(self, name: str) -> dict[str, Any]:
        channel = {
            "id": snowflake(),
            "type": 0,
            "guild_id": self.guild_id,
            "name": name,
            "position": len(self.text_channels) + 1,
            "permission_overwrites": [],
            "nsfw": False,
        }
        self.text_channels.append(channel)
        return channel

    def avatar(self, user_id: str, data: bytes, content_type: str = "image/png") -> str:
        """Put a new avatar on the CDN (a new avatar id, as Discord gives each upload)."""
        avatar_id = f"{next(self._avatar_ids):032x}"
        self.add_file(f"avatars/{user_id}/{avatar_id}.png", data, content_type)
        return avatar_id

    def add_guild_member(
        self,
        name: str,
        avatar: bytes | None = None,
        *,
        roles: list[str] | None = None,
        joined_at: str | None = None,
        bot: bool = False,
    ) -> dict[str, Any]:
        user = self.user(name, bot=bot)
        if avatar is not None:
            user["avatar"] = self.avatar(user["id"], avatar)
        member = self.member(user, roles=roles, joined_at=joined_at)
        del member["permissions"]  # only interactions carry resolved permissions
        self.guild_members[user["id"]] = member
        return member

    def change_avatar(self, member: dict[str, Any], data: bytes) -> None:
        member["user"]["avatar"] = self.avatar(member["user"]["id"], data)

    def set_server_avatar(self, member: dict[str, Any], data: bytes) -> None:
        """A per-server avatar (Nitro), shown instead of the account avatar in this server."""
        user_id = member["user"]["id"]
        member["avatar"] = avatar_id = f"{next(self._avatar_ids):032x}"
        path = f"guilds/{self.guild_id}/users/{user_id}/avatars/{avatar_id}.png"
        self.add_file(path, data, "image/png")

    def new_avatar_ids(self) -> None:
        """Every member re-uploads the same picture: new avatar ids, same bytes."""
        for member in self.guild_members.values():
            user = member["user"]
            if user["avatar"]:
                data, ctype = self._cdn[f"avatars/{user['id']}/{user['avatar']}.png"]
                user["avatar"] = self.avatar(user["id"], data, ctype)

    async def member_join(self, member: dict[str, Any]) -> None:
        self.guild_members[member["user"]["id"]] = member
        await self.dispatch("GUILD_MEMBER_ADD", member | {"guild_id": self.guild_id})

    async def member_update(self, member: dict[str, Any]) -> None:
        await self.dispatch("GUILD_MEMBER_UPDATE", member | {"guild_id": self.guild_id})

    def cdn_gets(self, prefix: str = "avatars/") -> int:
        """How many times the bot downloaded from the CDN under `prefix`."""
        return sum(1 for m, p in self.requests if m == "GET" and p.startswith("/cdn/" + prefix))

    def add_file(self, path: str, data: bytes, content_type: str) -> str:
        self._cdn[path.lstrip("/")] = (data, content_type)
        return f"{self.cdn_base}/{path.lstrip('/')}"

    def attachment(self, filename: str, data: bytes, content_type: str | None) -> dict[str, Any]:
        """An attachment on the fake CDN. Its proxy_url points at a host the bot must never
        use (the media proxy recompresses), so using it would fail the download."""
        att_id = snowflake()
        path = f"attachments/{self.channel_id}/{att_id}/{filename}"
        url = self.add_file(path, data, content_type or "application/octet-stream")
        payload = {
            "id": att_id,
            "filename": filename,
            "size": len(data),
            "url": url + "?ex=1&is=2&hm=abc",
            "proxy_url": f"http://media.invalid/{path}",
        }
        if content_type:
            payload["content_type"] = content_type
        return payload

    def set_avatar(self, user: dict[str, Any], png: bytes) -> None:
        user["avatar"] = "a1b2c3d4e5f6"
        self.add_file(f"avatars/{user['id']}/{user['avatar']}.png", png, "image/png")

    def channel_message(
        self, author: dict[str, Any], content: str = "", attachments: list | None = None
    ) -> dict[str, Any]:
        return {
            "id": snowflake(),
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "author": author,
            "content": content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }

    # -- driving the bot -------------------------------------------------------------------------
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self._on_server(self._dispatch(event, data))

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        session = await asyncio.wait_for(self._serving(data.get("guild_id")), 10)
        session.seq += 1
        await session.ws.send_str(json.dumps({"op": 0, "t": event, "s": session.seq, "d": data}))

    async def _serving(self, guild_id: str | None) -> Session:
        """The ready session that receives this guild's events (DMs: shard 0's)."""
        while True:
            for session in self.sessions.values():
                if session.serves(guild_id) and session.ready.is_set():
                    return session
            await asyncio.sleep(0.01)

    def _interaction(
        self,
        itype: int,
        data: dict[str, Any],
        user: dict[str, Any],
        *,
        guild: bool = True,
        permissions: int = MEMBER_PERMISSIONS,
        roles: list[str] | None = None,
        guild_id: str | None = None,
    ) -> dict[str, Any]:
        guild_id = guild_id or self.guild_id
        channel_id = self.channel_of(guild_id)
        payload: dict[str, Any] = {
            "id": snowflake(),
            "application_id": self.app_id,
            "type": itype,
            "token": "tok-" + snowflake(),
            "version": 1,
            "data": data,
            "locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild:
            payload |= {
                "guild_id": guild_id,
                "guild_locale": "en-US",
                "channel_id": channel_id,
                "channel": {"id": channel_id, "type": 0, "guild_id": guild_id},
                "member": self.member(user, roles=roles, permissions=permissions),
                "authorizing_integration_owners": {"0": guild_id},
                "context": 0,
            }
        else:
            dm_id = snowflake()
            payload |= {
                "channel_id": dm_id,
                "channel": {"id": dm_id, "type": 1, "recipients": [user]},
                "user": user,
                "authorizing_integration_owners": {"1": user["id"]},
                "context": 1,
            }
        return payload

    async def slash(
        self,
        name: str,
        user: dict[str, Any],
        options: list[dict[str, Any]] | None = None,
        resolved: dict[str, Any] | None = None,
        *,
        guild: bool = True,
        permissions: int = MEMBER_PERMISSIONS,
        roles: list[str] | None = None,
        guild_id: str | None = None,
    ) -> dict[str, Any]:
        data = {"id": snowflake(), "name": name, "type": 1, "options": options or []}
        if resolved:
            data["resolved"] = resolved
        payload = self._interaction(
            2, data, user, guild=guild, permissions=permissions, roles=roles, guild_id=guild_id
        )
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def check_attachment(
        self, user: dict[str, Any], attachment: dict[str, Any], **options: Any
    ) -> dict[str, Any]:
        """`/headshot-check image:<attachment> [context] [public]`."""
        opts = [{"name": "image", "type": 11, "value": attachment["id"]}]
        if "context" in options:
            opts.append({"name": "context", "type": 3, "value": options["context"]})
        if "public" in options:
            opts.append({"name": "public", "type": 5, "value": options["public"]})
        resolved = {"attachments": {attachment["id"]: attachment}}
        return await self.slash("headshot-check", user, opts, resolved)

    async def message_menu(self, user: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        data = {
            "id": snowflake(),
            "name": "Check headshot",
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        payload = self._interaction(2, data, user)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def user_menu(self, user: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
        member = {k: v for k, v in self.member(target).items() if k != "user"}
        data = {
            "id": snowflake(),
            "name": "Check avatar",
            "type": 2,
            "target_id": target["id"],
            "resolved": {"users": {target["id"]: target}, "members": {target["id"]: member}},
        }
        payload = self._interaction(2, data, user)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def press(
        self,
        user: dict[str, Any],
        custom_id: str,
        sent: Sent,
        *,
        permissions: int = MEMBER_PERMISSIONS,
    ) -> dict[str, Any]:
        """A button press on a message the bot sent. Discord only sends presses of buttons
        that are on the message, so a custom id not on `sent` is added to it as a new row."""
        components = list(sent.payload.get("components") or [])
        if custom_id not in sent.custom_ids:
            button = {"type": 2, "style": 2, "label": "button", "custom_id": custom_id}
            components.append({"type": 1, "components": [button]})
        message = self.channel_message(self.bot_user)
        message |= {
            "embeds": sent.embeds,
            "components": components,
            "flags": sent.payload.get("flags", 0),
        }
        data = {"component_type": 2, "custom_id": custom_id}
        payload = self._interaction(3, data, user, permissions=permissions)
        payload |= {"message": message}
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def dm(
        self, user: dict[str, Any], content: str = "", attachments: list | None = None
    ) -> dict[str, Any]:
        message = self.channel_message(user, content, attachments)
        message["channel_id"] = str(int(user["id"]) + 7)  # a DM channel id of its own
        del message["guild_id"]
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def post(
        self,
        author: dict[str, Any],
        attachments: list | None = None,
        *,
        content: str = "",
        channel_id: str | None = None,
        mention_bot: bool = False,
    ) -> dict[str, Any]:
        """Someone posts in a guild channel. Returns the message as posted (with everything);
        the bot gets it as Discord would send it given its intents."""
        message = self.channel_message(author, content, attachments)
        message["channel_id"] = channel_id or self.channel_id
        member = self.member(author)
        message["member"] = {k: v for k, v in member.items() if k not in ("user", "permissions")}
        if mention_bot:
            message["mentions"] = [self.bot_user]
            message["content"] = f"<@{self.app_id}> {content}".strip()
        seen = dict(message)
        if not (self.intents & MESSAGE_CONTENT_INTENT or mention_bot):
            seen |= {"content": "", "attachments": [], "embeds": []}
        await self.dispatch("MESSAGE_CREATE", seen)
        return message

    async def react(self, user: dict[str, Any], message: dict[str, Any], emoji: str) -> None:
        """`user` adds a (unicode) reaction to `message`."""
        event = {
            "user_id": user["id"],
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": self.guild_id,
            "message_author_id": message["author"]["id"],
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        await self.dispatch("MESSAGE_REACTION_ADD", event)

    def dms_to(self, user_id: str) -> list[Sent]:
        """Messages the bot sent in its DM channel with `user_id`."""
        channels = {c for c, who in self.dm_channels.items() if who == user_id}
        return [s for s in self.sent if s.route == "channel" and s.key in channels]

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket as Discord does when it restarts a node."""
        await self._on_server(self._drop(code))

    async def _drop(self, code: int) -> None:
        for session in list(self.sessions.values()):
            session.ready.clear()
            await session.ws.close(code=code, message=b"fake closed the socket")

    # -- waiting ------------------------------------------------------------------------------
    async def wait_until(self, predicate, timeout: float = 20.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            await asyncio.sleep(0.02)

    async def wait_callback(self, interaction: dict[str, Any], timeout: float = 10.0) -> dict:
        await self.wait_until(lambda: interaction["id"] in self.callbacks, timeout, "callback")
        return self.callbacks[interaction["id"]]

    def replies_to(self, interaction: dict[str, Any]) -> list[Sent]:
        return [s for s in self.sent if s.key == interaction["token"]]

    async def wait_replies(
        self, interaction: dict[str, Any], count: int = 1, timeout: float = 30.0
    ) -> list[Sent]:
        await self.wait_until(
            lambda: len(self.replies_to(interaction)) >= count,
            timeout,
            f"{count} replies to interaction {interaction['data'].get('name')}",
        )
        return self.replies_to(interaction)

    def channel_sent(self, channel_id: str) -> list[Sent]:
        return [s for s in self.sent if s.route == "channel" and s.key == channel_id]

    # -- gateway -------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        )
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            await self._on_op(ws, json.loads(msg.data))
        for session in self.sessions.values():
            if session.ws is ws:
                session.ready.clear()
        return ws

    async def _on_op(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        self.gateway_ops.append(payload)
        op = payload.get("op")
        if op == 1:  # heartbeat
            self.heartbeats.append(time.monotonic())
            await ws.send_str(json.dumps({"op": 11}))
        elif op == 2:  # identify
            intents = payload["d"].get("intents", 0)
            if intents & GUILD_MEMBERS_INTENT and not self.members_intent_enabled:
                await ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            self.identifies += 1
            self.intents = intents
            shard_id, count = payload["d"].get("shard") or (0, 1)
            await self._send_ready(Session(ws, (shard_id, count), "session-" + snowflake()))
        elif op == 8:  # request guild members
            self.member_requests.append(payload["d"])
            if self.answer_member_requests:
                await self._send_chunks(ws, payload["d"])
        elif op == 6:  # resume
            self.resumes += 1
            sid = payload["d"].get("session_id")
            session = next((s for s in self.sessions.values() if s.id == sid), None)
            if session is None:
                await ws.send_str(json.dumps({"op": 9, "d": False}))
                return
            session.ws = ws
            session.seq += 1
            await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}}))
            session.ready.set()

    async def _send_ready(self, session: Session) -> None:
        self.sessions[session.shard[0]] = self._last = session
        guilds = [g for g in (self.guild_id, *self.other_guilds) if session.serves(g)]
        session.seq = 1
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": g, "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.app_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "shard": list(session.shard),
        }
        await session.ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
        for guild_id in guilds:
            session.seq += 1
            event = {"op": 0, "t": "GUILD_CREATE", "s": session.seq, "d": self._guild(guild_id)}
            await session.ws.send_str(json.dumps(event))
        session.ready.set()

    def _session_of(self, ws: web.WebSocketResponse) -> Session:
        return next(s for s in self.sessions.values() if s.ws is ws)

    async def _send_chunks(self, ws: web.WebSocketResponse, request: dict[str, Any]) -> None:
        guild_id = str(request["guild_id"])
        session = self._session_of(ws)
        others = self.guild_members.values() if guild_id == self.guild_id else []
        members = [self.member(self.bot_user), *others]
        chunks = [members[i : i + CHUNK_SIZE] for i in range(0, len(members), CHUNK_SIZE)]
        for index, chunk in enumerate(chunks):
            session.seq += 1
            data = {
                "guild_id": guild_id,
                "members": chunk,
                "chunk_index": index,
                "chunk_count": len(chunks),
                "nonce": request.get("nonce"),
            }
            event = {"op": 0, "t": "GUILD_MEMBERS_CHUNK", "s": session.seq, "d": data}
            await ws.send_str(json.dumps(event))

    def _guild(self, guild_id: str) -> dict[str, Any]:
        main = guild_id == self.guild_id
        everyone = {
            "id": guild_id,
            "name": "@everyone",
            "permissions": "1071698660929",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        channel = {
            "id": self.channel_of(guild_id),
            "type": 0,
            "guild_id": guild_id,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
        }
        size = len(self.guild_members) if main else 0
        return {
            "id": guild_id,
            "name": "Fake server" if main else f"Fake server {guild_id}",
            "icon": None,
            "owner_id": (self.other_owners.get(guild_id) or {}).get("id") or snowflake(),
            "features": [],
            "roles": [everyone, *(self.roles if main else [])],
            "emojis": [],
            "stickers": [],
            "channels": [channel, *(self.text_channels if main else [])],
            "threads": [],
            "members": [self.member(self.bot_user)],
            "member_count": 1 + size,
            "large": size >= 250,
            "unavailable": False,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "joined_at": _now(),
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
        }

    # -- CDN ------------------------------------------------------------------------------
    async def _cdn_get(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", "/cdn/" + request.match_info["path"]))
        if self.cdn_delay_s:
            await asyncio.sleep(self.cdn_delay_s)
        item = self._cdn.get(request.match_info["path"])
        if item is None:
            return web.Response(status=404)
        data, ctype = item
        return web.Response(body=data, headers={"Content-Type": ctype})

    # -- REST ------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        self.requests.append((request.method, path))
        for method, pattern, handler in self._routes():
            m = re.fullmatch(pattern, path)
            if m and method == request.method:
                return await handler(request, *m.groups())
        self.unknown.append((request.method, path))
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _routes(self):
        app = self.app_id
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._app_info),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/gateway", self._gateway_bot),
            ("PUT", rf"/applications/{app}/commands", self._sync),
            ("PUT", rf"/applications/{app}/guilds/(\d+)/commands", self._sync),
            ("POST", r"/interactions/(\d+)/([\w-]+)/callback", self._callback),
            ("POST", rf"/webhooks/{app}/([\w-]+)", self._followup),
            ("PATCH", rf"/webhooks/{app}/([\w-]+)/messages/(@original|\d+)", self._edit),
            ("POST", r"/channels/(\d+)/messages", self._channel_message),
            ("POST", r"/channels/(\d+)/typing", self._typing),
            ("POST", r"/users/@me/channels", self._dm_channel),
            ("PUT", r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", self._add_reaction),
            ("GET", r"/guilds/(\d+)/members/(\d+)", self._guild_member),
        ]

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user)

    async def _app_info(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": self.app_id,
                "name": "Headshot Check",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.user("owner"),
                "verify_key": "00",
                "flags": 0,
            }
        )

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": self.shards, "session_start_limit": limit})

    async def _sync(self, request: web.Request, guild_id: str | None = None) -> web.Response:
        commands = await request.json()
        self.command_syncs.append((guild_id or "global", commands))
        out = [
            {
                "id": snowflake(),
                "application_id": self.app_id,
                "version": snowflake(),
                "description": "",
                **c,
                **({"guild_id": guild_id} if guild_id else {}),
            }
            for c in commands
        ]
        return _json(out)

    async def _read_message(self, request: web.Request) -> tuple[dict, list[tuple[str, bytes]]]:
        """JSON, or multipart with payload_json and files[n] parts."""
        if not request.content_type.startswith("multipart/"):
            return (await request.json() if request.can_read_body else {}), []
        payload: dict[str, Any] = {}
        files: list[tuple[str, bytes]] = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                files.append((part.filename or part.name or "", bytes(await part.read())))
        return payload, files

    def _message(self, payload: dict, files: list, channel_id: str) -> dict[str, Any]:
        msg = self.channel_message(self.bot_user, payload.get("content") or "")
        msg |= {
            "channel_id": channel_id,
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "flags": payload.get("flags") or 0,
            "webhook_id": self.app_id,
            "attachments": [
                {
                    "id": snowflake(),
                    "filename": name,
                    "size": len(data),
                    "url": f"{self.cdn_base}/out/{name}",
                    "proxy_url": f"{self.cdn_base}/out/{name}",
                }
                for name, data in files
            ],
        }
        return msg

    async def _callback(self, request: web.Request, iid: str, token: str) -> web.Response:
        payload, files = await self._read_message(request)
        self.callbacks[iid] = payload
        data = payload.get("data") or {}
        if payload.get("type") == 4:  # a message right away (not deferred)
            self.sent.append(Sent("callback", token, data, files))
        ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        return _json(
            {
                "interaction": {
                    "id": iid,
                    "type": 2,
                    "response_message_loading": payload.get("type") == 5,
                    "response_message_ephemeral": ephemeral,
                }
            }
        )

    async def _followup(self, request: web.Request, token: str) -> web.Response:
        payload, files = await self._read_message(request)
        self.sent.append(Sent("followup", token, payload, files))
        return _json(self._message(payload, files, self.channel_id))

    async def _edit(self, request: web.Request, token: str, message_id: str) -> web.Response:
        payload, files = await self._read_message(request)
        self.sent.append(Sent("edit", token, payload, files))
        return _json(self._message(payload, files, self.channel_id))

    async def _channel_message(self, request: web.Request, channel_id: str) -> web.Response:
        payload, files = await self._read_message(request)
        self.sent.append(Sent("channel", channel_id, payload, files))
        return _json(self._message(payload, files, channel_id))

    async def _add_reaction(
        self, request: web.Request, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        self.reactions.append((channel_id, message_id, unquote(emoji)))
        return web.Response(status=204)

    async def _typing(self, request: web.Request, channel_id: str) -> web.Response:
        return web.Response(status=204)

    async def _guild_member(self, request: web.Request, guild_id: str, user_id: str):
        member = self.guild_members.get(user_id) if guild_id == self.guild_id else None
        owner = self.other_owners.get(guild_id)
        if owner is not None and owner["id"] == user_id:
            member = {k: v for k, v in self.member(owner).items() if k != "permissions"}
        if member is None:
            return _json({"message": "Unknown Member", "code": 10007}, 404)
        return _json(member)

    async def _dm_channel(self, request: web.Request) -> web.Response:
        body = await request.json()
        recipient = self.user("someone", user_id=str(body["recipient_id"]))
        channel_id = snowflake()
        self.dm_channels[channel_id] = recipient["id"]
        return _json({"id": channel_id, "type": 1, "recipients": [recipient]})
