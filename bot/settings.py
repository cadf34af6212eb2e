"""Settings: config/default.toml, then config/local.toml (git-ignored), then the environment.

Secrets (tokens, signing secrets) come only from the environment or local.toml and are
SecretStr, so they never appear in logs or reprs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.analysis.pipeline.findings import (
    Strength,  # the shared term; findings imports nothing of ours
)

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("HEADSHOT_CONFIG_DIR", ROOT / "config"))


class Limits(BaseModel):
    max_bytes: int = 25_000_000
    max_pixels: int = 50_000_000
    max_frames: int = 1000
    max_chunks: int = 100_000  # PNG chunks, JPEG segments, GIF blocks in one file
    max_jpeg_scans: int = 100  # scans in one JPEG (progressive photos have about 10)
    max_tiff_tags: int = 10_000  # tags over all pages of a TIFF
    max_text_chunk_bytes: int = 1_000_000
    max_text_total_bytes: int = 8_000_000
    max_xmp_bytes: int = 2_000_000
    check_time_budget_s: float = 5.0
    analysis_timeout_s: float = 30.0
    worker_memory_mb: int = 1536  # address-space cap of each analysis worker; 0 = no cap
    # SIGTERM/SIGINT: photos being checked get shutdown_grace_s to finish (then they are
    # stopped and answered "restarting"), and the answers shutdown_reply_s to go out.
    shutdown_grace_s: float = 3.0
    shutdown_reply_s: float = 3.0


class Analysis(BaseModel):
    workers: int = 0  # 0: one per CPU core
    cache_entries: int = 2048
    disabled_checks: list[str] = Field(default_factory=list)


class C2PA(BaseModel):
    trust_dir: str = "c2pa"
    verify_trust: bool = True
    remote_manifest_fetch: bool = False  # would make the bot fetch URLs named inside user files
    ocsp_fetch: bool = False
    extra_trust_anchors: str = ""  # PEM path (absolute or under config/): added trust anchors


class Download(BaseModel):
    timeout_s: float = 20.0
    chunk_bytes: int = 65536  # the loop gets a turn at least this often while a body arrives
    # Bytes all downloads in this process may hold at once (each reserves its size first).
    max_bytes_in_flight: int = 200_000_000


class Audit(BaseModel):
    concurrency: int = 16  # avatar downloads in flight
    progress_interval_s: float = 3.0
    flag_min_strength: Strength = Strength.MODERATE  # weakest evidence an audit reports
    dup_max_distance: int = 4  # perceptual-hash bits two "same" avatars may differ by
    retention_days: float = 30.0


class RateLimit(BaseModel):
    per_user_per_minute: int = 6  # photos; 0 = no limit
    question_cost: float = 0.5  # a question uses this much of the same allowance


class QueueSettings(BaseModel):
    """Where analysis runs: in this process's pool, or on `headshot-bot worker` processes."""

    backend: str = "inprocess"  # or "redis" (QUEUE_URL or REDIS_URL, and QUEUE_SECRET)
    name: str = "headshot"  # queue and key namespace: one per deployment
    result_timeout_s: float = 120.0  # waiting for a queued job, time in the queue included
    requeue_after_s: float = 15.0  # a worker silent this long is dead: its jobs go to others
    maintenance_chance: int = 100_000  # broker commands in a million that look for dead workers
    max_job_bytes: int = 26_000_000  # a job (photo and arguments) larger than this is refused
    max_result_bytes: int = 32_000_000
    result_ttl_s: float = 600.0


class SlackSettings(BaseModel):
    """The Slack adapter. Tests point api_base_url and file_hosts at a local fake."""

    api_base_url: str = "https://slack.com/api/"
    # Only these hosts get the bot token and are downloaded from (subdomains included).
    file_hosts: list[str] = Field(
        default_factory=lambda: ["files.slack.com", "files.slack-gov.com"]
    )
    http_host: str = "0.0.0.0"
    http_port: int = 3000  # HTTP mode; the PORT environment variable wins when set
    events_path: str = "/slack/events"
    api_timeout_s: int = 30
    # Web API calls are retried: after Retry-After when answered 429, with exponential backoff
    # (from retry_backoff_s, with jitter) on 5xx answers and dropped connections.
    ratelimit_retries: int = 5
    server_error_retries: int = 3
    connection_retries: int = 3
    retry_backoff_s: float = 0.5
    colours: dict[str, str] = Field(default_factory=dict)  # reply tone -> attachment bar colour
    max_files: int = 5  # photos checked from one message
    max_jobs: int = 32  # requests worked on at once; more wait their turn
    reply_ttl_s: float = 900  # how long buttons keep working
    dedupe_ttl_s: float = 900  # Slack retries an event for up to ~5 minutes
    # Avatar audits: profile pictures are public and downloaded (without the token) from these.
    avatar_hosts: list[str] = Field(
        default_factory=lambda: ["avatars.slack-edge.com", "secure.gravatar.com"]
    )
    users_page_size: int = 200  # users.list page size (Slack recommends at most 200)
    purge_interval_s: float = 3600  # how often stored audit results past retention are deleted
    # Many workspaces (OAuth install, HTTP mode): on when SLACK_CLIENT_ID and
    # SLACK_CLIENT_SECRET are set. These are the bot scopes the install asks for.
    oauth_scopes: list[str] = Field(default_factory=list)
    oauth_redirect_uri: str = ""  # empty: the one set in the app's OAuth settings
    oauth_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    oauth_state_ttl_s: int = 600  # how long an install link works


class DiscordSettings(BaseModel):
    """The Discord adapter. The token is not here: DISCORD_TOKEN, from the environment."""

    # REST base: point at a REST proxy (nirn-proxy, twilight-http-proxy) or a local fake.
    api_base: str = "https://discord.com/api/v10"
    # Empty: ask the REST API (GET /gateway/bot) when api_base is not Discord's own.
    gateway_url: str = ""
    cdn_base: str = "https://cdn.discordapp.com"
    # Files are downloaded only from these hosts (subdomains included).
    attachment_hosts: list[str] = Field(
        default_factory=lambda: ["cdn.discordapp.com", "media.discordapp.net"]
    )
    application_id: int | None = None  # only needed for invite-url without logging in
    dev_guild_id: int | None = None  # sync commands to this guild only (instant; for development)
    sync_commands: bool = True  # sync when the command payload changed since the last sync
    max_images: int = 10  # images checked from one message
    max_concurrent_downloads: int = 4
    max_jobs: int = 32  # interactions and DMs worked on at once; more wait their turn
    guild_ready_timeout: float = 2.0
    invite_permissions: int = 51200  # Embed Links + Attach Files
    platform_note: str = ""  # shown with JPEG uploads (Discord removes their EXIF)
    avatar_note: str = ""  # shown with avatar checks (Discord re-encodes avatars)
    colours: dict[str, int] = Field(default_factory=dict)  # reply tone -> embed colour
    # The privileged Server Members intent: only the moderator audit and watch mode need it.
    # Enable it in the Developer Portal too, or Discord refuses the connection.
    members_intent: bool = False
    # The privileged Message Content intent: channel watch sees the images of every message in
    # a watched channel with it; without it, only of messages that mention the bot.
    message_content_intent: bool = False
    audit_avatar_size: int = 256  # pixel size asked from the CDN for audited avatars
    audit_chunk_timeout_s: float = 120.0  # waiting for the member list (gateway chunks)
    # Sharding (docs/deploy.md). No count: as many shards as Discord recommends, all in this
    # process. With shard_ids, this process runs only those shards of shard_count; other
    # processes run the rest, each shard in exactly one process.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shards_fit(self) -> DiscordSettings:
        if self.shard_ids and self.shard_count is None:
            raise ValueError("shard_ids needs shard_count (how many shards there are in all)")
        outside = [i for i in self.shard_ids if not 0 <= i < (self.shard_count or 0)]
        if outside:
            raise ValueError(f"shard ids {outside} are not between 0 and shard_count - 1")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HEADSHOT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    limits: Limits = Field(default_factory=Limits)
    analysis: Analysis = Field(default_factory=Analysis)
    c2pa: C2PA = Field(default_factory=C2PA)
    download: Download = Field(default_factory=Download)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    audit: Audit = Field(default_factory=Audit)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    data_dir: Path = ROOT / "data"
    log_level: str = "INFO"

    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_CLIENT_SECRET"
    )
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    queue_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("QUEUE_URL", "REDIS_URL")
    )
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    # Signs what we put in Redis (jobs, results, cached replies): only holders may write them.
    queue_secret: SecretStr | None = Field(default=None, validation_alias="QUEUE_SECRET")

    @property
    def slack_oauth(self) -> bool:
        """Slack in many workspaces: the OAuth install flow, a token per workspace."""
        secret = self.slack_client_secret.get_secret_value() if self.slack_client_secret else ""
        return bool(self.slack_client_id and secret)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        tomls = [p for p in (CONFIG_DIR / "local.toml", CONFIG_DIR / "default.toml") if p.exists()]
        toml_sources = [TomlConfigSettingsSource(settings_cls, toml_file=p) for p in tomls]
        return (init_settings, env_settings, dotenv_settings, *toml_sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def config_path(*parts: str) -> Path:
    return CONFIG_DIR.joinpath(*parts)


def load_toml(*parts: str) -> dict[str, Any]:
    import tomllib

    with config_path(*parts).open("rb") as fh:
        return tomllib.load(fh)
