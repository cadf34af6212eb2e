"""Slack in many workspaces: the OAuth install flow's stores on top of our database, and the
workspaces background work runs for, each with its own bot token.

slack_sdk's installation store and state store interfaces, implemented on `bot.store.Store`
(SQLite by default, PostgreSQL through DATABASE_URL), so every process behind a load balancer
sees every installation."""

from __future__ import annotations

import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.request import Platform
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)
PLATFORM = Platform.SLACK


class StoreInstallationStore(AsyncInstallationStore):
    """One installation a workspace (or org), the latest; bot tokens only (the app asks for
    no user scopes)."""

    def __init__(self, store: Store, client_id: str) -> None:
        self.store = store
        self.client_id = client_id

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(
        self, enterprise_id: str | None, team_id: str | None, org_wide: bool
    ) -> tuple[str, str, str]:
        return (self.client_id, enterprise_id or "", "" if org_wide else team_id or "")

    async def async_save(self, installation: Installation) -> None:
        key = self._key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        data = installation.to_dict_for_copying()
        # Times as the Unix seconds Installation() accepts back (JSON has no datetimes).
        for name in ("bot_token_expires_at", "user_token_expires_at", "installed_at"):
            data[name] = getattr(installation, name)
        await self.store.save_installation(*key, data)
        log.info("installed in workspace %s", installation.team_id or installation.enterprise_id)

    async def async_save_bot(self, bot: Bot) -> None:
        raise NotImplementedError("installations are saved whole (async_save)")

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        data = await self.store.find_installation(
            *self._key(enterprise_id, team_id, bool(is_enterprise_install))
        )
        if data is None or (user_id is not None and data.get("user_id") != user_id):
            return None
        return Installation(**data)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return installation.to_bot() if installation and installation.bot_token else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # a user's own token is never stored: nothing else to delete
            await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        org_wide = not team_id
        await self.store.delete_installation(*self._key(enterprise_id, team_id, org_wide))

    async def teams(self) -> list[str]:
        return [team for _, team in await self.store.installed_teams(self.client_id) if team]


class StoreStateStore(AsyncOAuthStateStore):
    """The install flow's one-time states, shared by every process."""

    def __init__(self, store: Store, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        await self.store.issue_state(state, self.ttl_s)
        return state

    async def async_consume(self, state: str) -> bool:
        return await self.store.consume_state(state)


def oauth_settings(settings: Settings, store: Store) -> AsyncOAuthSettings:
    """Bolt's install flow (GET /slack/install, GET /slack/oauth_redirect) on our stores."""
    assert settings.slack_client_id and settings.slack_client_secret
    s = settings.slack
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=s.oauth_scopes,
        user_scopes=[],
        redirect_uri=s.oauth_redirect_uri or None,
        authorization_url=s.oauth_authorize_url,
        installation_store=StoreInstallationStore(store, settings.slack_client_id),
        installation_store_bot_only=True,
        state_store=StoreStateStore(store, s.oauth_state_ttl_s),
        state_expiration_seconds=s.oauth_state_ttl_s,
        logger=log,
    )


# -- the workspaces background work runs for -------------------------------------------------
class Workspaces(ABC):
    """Which workspaces this app serves, and a Web API client with each one's own token."""

    @abstractmethod
    async def teams(self) -> list[str]: ...

    @abstractmethod
    async def client(self, team: str) -> AsyncWebClient | None:
        """None when the app is not (or no longer) installed there."""


class FixedWorkspaces(Workspaces):
    """Single-workspace mode: SLACK_BOT_TOKEN's client, for its workspace."""

    def __init__(self, client: AsyncWebClient, teams: list[str]) -> None:
        self._client = client
        self._teams = teams

    async def teams(self) -> list[str]:
        return list(self._teams)

    async def client(self, team: str) -> AsyncWebClient | None:
        return self._client if team in self._teams else None


class InstalledWorkspaces(Workspaces):
    """OAuth mode: every workspace that installed the app, with its stored bot token."""

    def __init__(
        self,
        installations: StoreInstallationStore,
        make_client: Callable[[str], AsyncWebClient],
    ) -> None:
        self.installations = installations
        self._make_client = make_client

    async def teams(self) -> list[str]:
        return await self.installations.teams()

    async def client(self, team: str) -> AsyncWebClient | None:
        pairs = await self.installations.store.installed_teams(self.installations.client_id)
        enterprise = next((e for e, t in pairs if t == team), None)
        if enterprise is None:
            return None
        bot = await self.installations.async_find_bot(enterprise_id=enterprise, team_id=team)
        return self._make_client(bot.bot_token) if bot and bot.bot_token else None
