"""Sharding end-to-end: two real discord.py bots, each running one of two shards, against the
fake Discord (which sends each session only the guilds of its shard, as Discord does)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import discord
import pytest

from bot.adapters.discord import HeadshotBot, configure_endpoints
from bot.audit.audit_service import AuditService
from bot.cli import shard_ids
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.settings import DiscordSettings, Settings, get_settings
from bot.store.sqlite import SQLiteStore
from tests.fakes.discord_fake import FakeDiscord

TOKEN = "fake-discord-token-for-tests"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    f = await FakeDiscord(heartbeat_interval_ms=1000).start_in_thread()
    f.shards = 2
    yield f
    await f.stop()
    configure_endpoints(DiscordSettings())  # discord.py keeps these process-wide


@pytest.fixture
async def service() -> AsyncIterator[HeadshotService]:
    s = HeadshotService(get_settings(), pool=AnalysisPool(inline=True))
    yield s
    s.close()


def shard_settings(fake: FakeDiscord, data_dir: Path, ids: list[int], **discord_) -> Settings:
    return fake.bot_settings(
        get_settings(), data_dir, shard_count=2, shard_ids=ids, sync_commands=True, **discord_
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, service: HeadshotService, audits: AuditService | None = None
) -> AsyncIterator[HeadshotBot]:
    """A bot process's worth: one bot on its shards, until the block ends."""
    async with aiohttp.ClientSession() as session:
        bot = HeadshotBot(service=service, session=session, settings=settings, audits=audits)
        task = asyncio.create_task(bot.start(TOKEN))
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()
        try:
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, 10)


def handled_by(bot: HeadshotBot) -> list[str]:
    """Ids of the interactions this bot received (discord.py's own event, as dispatched)."""
    seen: list[str] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(str(interaction.id))

    bot.add_listener(on_interaction)
    return seen


async def test_two_processes_split_the_guilds_and_handle_each_command_once(
    fake: FakeDiscord, service: HeadshotService, tmp_path: Path
) -> None:
    alice = fake.user("alice")
    mod = fake.user("mod")  # owns both guilds: still their moderator when the audits resume
    guild_of = {0: fake.add_guild(0, 2, owner=mod), 1: fake.add_guild(1, 2, owner=mod)}
    # Separate data dirs, as on separate machines: the sync marker cannot be what stops shard
    # 1's process from syncing the commands too.
    first = shard_settings(fake, tmp_path / "a", [0])
    second = shard_settings(fake, tmp_path / "b", [1])
    async with running(first, service) as bot0, running(second, service) as bot1:
        identified = sorted(tuple(op["d"]["shard"]) for op in fake.gateway_ops if op["op"] == 2)
        assert identified == [(0, 2), (1, 2)]  # one session per shard, none twice
        ids0, ids1 = ({str(g.id) for g in b.guilds} for b in (bot0, bot1))
        everyone = {fake.guild_id, *guild_of.values()}
        assert ids0 | ids1 == everyone and not ids0 & ids1
        assert guild_of[0] in ids0 and guild_of[1] in ids1
        assert bot0.serves_guild(int(guild_of[0])) and not bot0.serves_guild(int(guild_of[1]))

        seen = {0: handled_by(bot0), 1: handled_by(bot1)}
        for shard, guild_id in guild_of.items():
            inter = await fake.slash("headshot-help", alice, guild_id=guild_id)
            (reply,) = await fake.wait_replies(inter)
            assert reply.embeds
            assert seen[shard] == [inter["id"]] and seen[1 - shard] == []
            seen[shard].clear()
        dm = await fake.slash("headshot-help", alice, guild=False)
        await fake.wait_replies(dm)
        assert seen == {0: [dm["id"]], 1: []}  # Discord sends DMs to shard 0

    # Only shard 0's process synced the commands.
    assert bot0.synced is True and bot1.synced is None
    assert len(fake.command_syncs) == 1
    assert fake.unknown == []


async def test_audits_resume_only_in_the_process_of_their_guild(
    fake: FakeDiscord, service: HeadshotService, tmp_path: Path, caplog
) -> None:
    mod = fake.user("mod")  # owns both guilds: still their moderator when the audits resume
    guild_of = {0: fake.add_guild(0, 2, owner=mod), 1: fake.add_guild(1, 2, owner=mod)}
    store = await SQLiteStore.open(tmp_path / "shared.sqlite3")  # PostgreSQL in production
    try:
        audits = AuditService(store, service.pool, get_settings())
        runs = {
            shard: await store.create_run("discord", guild_id, mod["id"], {})
            for shard, guild_id in guild_of.items()
        }

        async def status(shard: int) -> str:
            (row,) = await store.fetch("SELECT status FROM audit_runs WHERE id = ?", runs[shard].id)
            return row[0]

        async def wait_done(shard: int) -> None:
            async with asyncio.timeout(30):
                while await status(shard) != "done":
                    await asyncio.sleep(0.05)

        caplog.set_level(logging.WARNING, logger="cogs.audit")
        first = shard_settings(fake, tmp_path / "a", [0], members_intent=True)
        async with running(first, service, audits):
            await wait_done(0)
            await asyncio.sleep(0.3)
            assert await status(1) == "running"  # left for the process that serves it
        assert "cannot resume" not in caplog.text

        second = shard_settings(fake, tmp_path / "b", [1], members_intent=True)
        async with running(second, service, audits):
            await wait_done(1)
    finally:
        await store.close()


def test_shard_ranges_on_the_command_line() -> None:
    assert shard_ids("0-3") == [0, 1, 2, 3]
    assert shard_ids("0,2,5-6") == [0, 2, 5, 6]
    with pytest.raises(Exception, match="not shard ids"):
        shard_ids("zero")
    with pytest.raises(ValueError, match="needs shard_count"):
        DiscordSettings(shard_ids=[0])
    with pytest.raises(ValueError, match=r"\[8\] are not between"):
        DiscordSettings(shard_count=8, shard_ids=[0, 8])


def test_a_bad_shard_range_stops_start_up_with_a_clear_error(capsys) -> None:
    from bot.cli import main

    assert main(["discord", "--shards", "4-7", "--shard-count", "4"]) == 2
    assert "shard ids [4, 5, 6, 7] are not between 0 and shard_count - 1" in capsys.readouterr().err
    assert main(["discord", "--shards", "0-1"]) == 2
    assert "needs shard_count" in capsys.readouterr().err
