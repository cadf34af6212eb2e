"""Settings: config/default.toml, then config/local.toml (git-ignored), then the environment.

Secrets (tokens, signing secrets) come only from the environment or local.toml and are
SecretStr, so they never appear in logs or reprs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("HEADSHOT_CONFIG_DIR", ROOT / "config"))


class Limits(BaseModel):
    max_bytes: int = 25_000_000
    max_pixels: int = 50_000_000
    max_frames: int = 1000
    max_chunks: int = 100_000  # PNG chunks, JPEG segments, GIF blocks in one file
    max_tiff_tags: int = 10_000  # tags over all pages of a TIFF
    max_text_chunk_bytes: int = 1_000_000
    max_text_total_bytes: int = 8_000_000
    max_xmp_bytes: int = 2_000_000
    check_time_budget_s: float = 5.0
    analysis_timeout_s: float = 30.0
    worker_memory_mb: int = 1536  # address-space cap of each analysis worker; 0 = no cap


class Analysis(BaseModel):
    workers: int = 0  # 0: one per CPU core
    cache_entries: int = 2048
    disabled_checks: list[str] = Field(default_factory=list)


class C2PA(BaseModel):
    trust_dir: str = "c2pa"
    verify_trust: bool = True
    remote_manifest_fetch: bool = False  # would make the bot fetch URLs named inside user files
    ocsp_fetch: bool = False


class Download(BaseModel):
    timeout_s: float = 20.0
    chunk_bytes: int = 65536


class RateLimit(BaseModel):
    per_user_per_minute: int = 6


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
    data_dir: Path = ROOT / "data"
    log_level: str = "INFO"

    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")

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
