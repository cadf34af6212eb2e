"""A local fake of the Slack platform for end-to-end tests, on 127.0.0.1.

It serves what the Headshot Check app uses: the Web API methods (auth.test, files.info by
GET or POST, chat.postMessage, chat.postEphemeral, views.open, views.publish,
conversations.open, conversations.members (with cursor pagination),
files.getUploadURLExternal, files.completeUploadExternal, apps.connections.open, and for
audits users.list with cursor pagination, users.info, usergroups.users.list and
chat.update, and for channel watch conversations.replies over messages posted with
`post_message`), the private file download (checking the bot token), an avatar host (public,
like avatars.slack-edge.com), the upload URL, response_url webhooks, a Socket Mode
websocket, and the OAuth install's `oauth.v2.access` (a code from `install_code` is exchanged
once for a new bot token of that workspace; `auth.test` then names that workspace for the
token; `revoke` makes a workspace's tokens invalid). Files have an uploader and the
conversations they are shared in. It records every call, and answers `ratelimited` (HTTP 429
+ Retry-After), `invalid_auth`, `file_not_found` and other errors, HTTP 5xx answers
(`status=`) and dropped connections (`DROP`) on demand with `fail()`. With `post_limit`, it
refuses posts to one channel past a rate, as Slack does (429 + Retry-After).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
TEAM_ID = "T0FAKE0001"
BOT_USER_ID = "U0BOTUSER1"
BOT_ID = "B0BOTID001"
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
NO_TOKEN_METHODS = frozenset({"oauth.v2.access"})  # authenticated by the client id and secret
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fake-client-secret"
APP_ID = "A0FAKEAPP1"
DROP = "drop"  # fail() with this error closes the connection without an answer
POST_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral"})


def signed_headers(
    secret: str,
    body: bytes,
    content_type: str = "application/json",
    timestamp: int | str | None = None,
) -> dict[str, str]:
    """The headers Slack sends with a request to an app in HTTP mode: signed with `secret`."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    http_method: str = "POST"


@dataclass
class Failure:
    error: str
    retry_after: int | None = None
    status: int = 200


@dataclass
class StoredFile:
    meta: dict[str, Any]  # the file object as events carry it
    data: bytes
    # Where it is shared, as only files.info tells: public channels, private channels, DMs.
    channels: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    ims: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        shares = {
            "public": {c: [{"ts": "1700000000.000100"}] for c in self.channels},
            "private": {c: [{"ts": "1700000000.000100"}] for c in self.groups + self.ims},
        }
        return {
            **self.meta,
            "channels": list(self.channels),
            "groups": list(self.groups),
            "ims": list(self.ims),
            "shares": {k: v for k, v in shares.items() if v},
        }


@dataclass
class FakeSlack:
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    calls: list[Call] = field(default_factory=list)
    downloads: list[tuple[str, str | None]] = field(default_factory=list)  # (path, auth header)
    uploads: dict[str, bytes] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)  # response_url posts
    socket_received: list[dict[str, Any]] = field(default_factory=list)  # acks from the app
    files: dict[str, StoredFile] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> users.info object
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # subteam id -> user ids
    avatars: dict[str, bytes] = field(default_factory=dict)  # avatar file name -> picture
    avatar_downloads: list[str] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (ch, ts)
    users_page_max: int = 200  # users.list answers at most this many members a page
    avatar_delay_s: float = 0.0  # a slow avatar host, for cancelling an audit mid-way
    channel_errors: dict[str, str] = field(default_factory=dict)  # channel -> postMessage error
    # Conversation id -> member ids, for conversations.members; the app is in those it
    # lists (a DM between two people is "channel_not_found" to it).
    conversations: dict[str, list[str]] = field(default_factory=dict)
    members_page_max: int = 100
    installed: dict[str, str] = field(default_factory=dict)  # bot token -> workspace (OAuth)
    oauth_codes: dict[str, str] = field(default_factory=dict)  # code -> workspace installing
    # (posts, seconds): at most that many posts to one channel in any such window, else 429.
    post_limit: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._posted: dict[str, deque[float]] = defaultdict(deque)  # channel -> post times
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._ws: web.WebSocketResponse | None = None
        self._ws_ready = asyncio.Event()
        self._changed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files-pri/{key}/{name}", self._download)
        app.router.add_get("/avatars/{name}", self._avatar)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    @property
    def host(self) -> str:
        """The file host entry for settings.slack.file_hosts."""
        return f"127.0.0.1:{self.port}"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.base_url}/response/{key}"

    # -- test controls ---------------------------------------------------------------------
    def add_file(
        self,
        name: str,
        data: bytes,
        mimetype: str = "image/jpeg",
        *,
        filetype: str | None = None,
        file_id: str | None = None,
        url: str | None = None,
        user: str = "U0ALICE001",
        channels: list[str] | None = None,
        groups: list[str] | None = None,
        ims: list[str] | None = None,
    ) -> dict[str, Any]:
        """Store a file uploaded by `user`, shared in `channels`/`groups`/`ims`, and return its
        Slack file object as events show it (files.info adds where it is shared)."""
        file_id = file_id or f"F0FAKE{next(self._ids):04d}"
        private = url or f"{self.base_url}/files-pri/{TEAM_ID}-{file_id}/{name}"
        meta = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": filetype or name.rsplit(".", 1)[-1].lower(),
            "pretty_type": (filetype or name.rsplit(".", 1)[-1]).upper(),
            "size": len(data),
            "user": user,
            "url_private": private,
            "url_private_download": private + "?download=1" if url is None else private,
            "permalink": f"https://fake.slack.com/files/{user}/{file_id}/{name}",
        }
        self.files[file_id] = StoredFile(meta, data, channels or [], groups or [], ims or [])
        return dict(meta)

    def add_user(
        self,
        user_id: str,
        name: str,
        avatar: bytes | None = None,
        *,
        avatar_name: str | None = None,
        avatar_hash: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """A workspace member. With `avatar`, a custom profile picture served by the avatar
        host (members sharing `avatar_name` share one picture); without, Slack's default."""
        key = avatar_hash or "h" + user_id.lower()[-10:]  # one per upload, like Slack's
        profile: dict[str, Any] = {"real_name": name, "display_name": name, "avatar_hash": key}
        if avatar is not None:
            file = avatar_name or f"{user_id}.img"
            self.avatars[file] = avatar
            url = f"{self.base_url}/avatars/{file}"
            profile.update(is_custom_image=True, image_original=url, image_512=url + "?s=512")
        else:  # Slack's default: a gravatar URL whose fallback is one of its stock pictures
            profile["avatar_hash"] = "g" + key[:11]
            profile["image_512"] = "https://secure.gravatar.com/avatar/x.jpg?s=512&d=ava_0010"
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name.lower().replace(" ", "."),
            "real_name": name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "profile": profile,
        }
        self.users[user_id] = user
        return user

    def post_message(
        self, channel: str, user: str, text: str = "", files: list | None = None
    ) -> dict[str, Any]:
        """Someone posts in a channel (what conversations.replies then finds); the message."""
        ts = self._ts()
        message = {"type": "message", "user": user, "text": text, "ts": ts}
        if files:
            message |= {"files": files, "subtype": "file_share", "upload": True}
        self.messages[(channel, ts)] = message
        return message

    def install_code(self, team_id: str) -> str:
        """The code Slack gives the redirect when an admin of `team_id` approves the install."""
        code = f"code-{team_id}-{next(self._ids)}"
        self.oauth_codes[code] = team_id
        return code

    def token_of(self, team_id: str) -> str:
        return next(t for t, team in self.installed.items() if team == team_id)

    def revoke(self, team_id: str) -> None:
        """The app was uninstalled there: its tokens stop working."""
        self.installed = {t: team for t, team in self.installed.items() if team != team_id}

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
        status: int | None = None,
    ) -> None:
        """Answer the next `times` calls to `method` with `error` (with HTTP `status`; 429 for
        `ratelimited`), or with no answer at all for `DROP`."""
        status = status or (429 if error == "ratelimited" else 200)
        for _ in range(times):
            self._failures[method].append(Failure(error, retry_after, status))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, n: int = 1, timeout: float = 15.0) -> list[Call]:
        """Wait until `method` was called at least n times (response_url posts: "response")."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.responses if method == "response" else self.calls_to(method)
            if len(found) >= n:
                return list(found)  # type: ignore[arg-type]
            left = deadline - time.monotonic()
            if left <= 0:
                seen = sorted({c.method for c in self.calls})
                raise AssertionError(f"{method} was not called {n} time(s); calls: {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))

    async def wait_until(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; {len(self.messages)} messages posted")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.2)

    async def wait_socket(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._ws_ready.wait(), timeout)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        assert self._ws is not None, "no Socket Mode connection"
        await self._ws.send_json(envelope)

    def _record(self) -> None:
        self._changed.set()

    # -- Web API ---------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update({k: v for k, v in (await request.post()).items()})
        for key in ("blocks", "attachments", "view", "files"):  # form posts: JSON strings
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else params.get("token")
        self.calls.append(Call(method, params, token, request.method))
        self._record()
        if self._failures[method]:
            f = self._failures[method].popleft()
            if f.error == DROP:
                assert request.transport is not None
                request.transport.abort()  # the client sees the connection go, mid-request
                return web.Response(status=500)
            headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
            return _json({"ok": False, "error": f.error}, f.status, headers)
        if method in NO_TOKEN_METHODS:
            return _json(self._m_oauth_v2_access(params, request))
        if method in POST_METHODS and self._over_post_limit(str(params.get("channel"))):
            return _json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"})
        valid = (
            {self.app_token} if method in APP_TOKEN_METHODS else {self.bot_token, *self.installed}
        )
        if not token:
            return _json({"ok": False, "error": "not_authed"})
        if token not in valid:
            return _json({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method"})
        if method == "auth.test":
            return _json(handler(params) | {"team_id": self.installed.get(token, TEAM_ID)})
        return _json(handler(params))

    def _m_oauth_v2_access(self, p: dict[str, Any], request: web.Request) -> dict[str, Any]:
        auth = request.headers.get("Authorization", "")
        basic = aiohttp.BasicAuth.decode(auth) if auth.startswith("Basic ") else None
        client = (
            (basic.login, basic.password) if basic else (p.get("client_id"), p.get("client_secret"))
        )
        if client != (CLIENT_ID, CLIENT_SECRET):
            return {"ok": False, "error": "invalid_client_id"}
        team = self.oauth_codes.pop(str(p.get("code")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{team}-{next(self._ids)}"
        self.installed[token] = team
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": "U0INSTALLR"},
            "scope": "chat:write,commands,im:history,im:write,files:read,users:read",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": BOT_USER_ID,
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _over_post_limit(self, channel: str) -> bool:
        if self.post_limit is None:
            return False
        most, window = self.post_limit
        now, posted = time.monotonic(), self._posted[channel]
        while posted and now - posted[0] >= window:
            posted.popleft()
        if len(posted) >= most:
            return True
        posted.append(now)
        return False

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "headshot-check",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(p.get("file")))
        if stored is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": stored.info()}

    def _m_conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        members = self.conversations.get(str(p.get("channel")))
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        start = int(p.get("cursor") or 0)
        limit = min(int(p.get("limit") or 0) or self.members_page_max, self.members_page_max)
        after = start + limit
        return {
            "ok": True,
            "members": members[start:after],
            "response_metadata": {"next_cursor": str(after) if after < len(members) else ""},
        }

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if p["channel"] in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[p["channel"]]}
        ts = self._ts()
        self.messages[(str(p["channel"]), ts)] = p
        return {"ok": True, "channel": p["channel"], "ts": ts, "message": {"ts": ts}}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if not (p.get("channel") and p.get("user")):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._ts()}

    def _m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("users") or "").split(",")[0]
        return {"ok": True, "channel": {"id": "D" + user.removeprefix("U")}}

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": {"id": f"V{next(self._ids)}", **(p.get("view") or {})}}

    def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": f"V{next(self._ids)}", **(p.get("view") or {})}}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F0UPLOAD{next(self._ids):03d}"
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files") or []
        if any(f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _m_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        ids = list(self.users)
        start = int(p.get("cursor") or 0)
        limit = min(int(p.get("limit") or 0) or self.users_page_max, self.users_page_max)
        page = [self.users[i] for i in ids[start : start + limit]]
        after = start + limit
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": str(after) if after < len(ids) else ""},
        }

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        members = self.usergroups.get(str(p.get("usergroup")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        key = (str(p.get("channel")), str(p.get("ts")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = p
        return {"ok": True, "channel": key[0], "ts": key[1], "text": p.get("text", "")}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        first = self.messages.get((str(p.get("channel")), str(p.get("ts"))))
        if first is None:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": [first], "has_more": False}

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    # -- files, webhooks, socket -----------------------------------------------------------
    async def _download(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        self.downloads.append((request.path, auth))
        self._record()
        file_id = request.match_info["key"].rsplit("-", 1)[-1]
        stored = self.files.get(file_id)
        if auth != f"Bearer {self.bot_token}":
            return web.Response(status=403, text="forbidden")
        if stored is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=stored.data, content_type=stored.meta["mimetype"])

    async def _avatar(self, request: web.Request) -> web.Response:
        """Profile pictures are public on Slack's avatar host: no token is needed or wanted."""
        name = request.match_info["name"]
        self.avatar_downloads.append(name)
        self._record()
        if self.avatar_delay_s:
            await asyncio.sleep(self.avatar_delay_s)
        if request.headers.get("Authorization"):
            return web.Response(status=400, text="no tokens here")
        data = self.avatars.get(name)
        if data is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        self._record()
        return web.Response(text=f"OK - {len(self.uploads[request.match_info['file_id']])}")

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        self._record()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0FAKEAPP1"},
            }
        )
        self._ws_ready.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.socket_received.append(json.loads(msg.data))
                self._record()
        return ws


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None):
    return web.json_response(body, status=status, headers=headers)
