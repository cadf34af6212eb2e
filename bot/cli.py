"""`headshot-bot`: check photos, ask questions, get disclosure text, or run a chat adapter."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot import messages
from bot.analysis.pipeline.verdict import Label
from bot.core.request import Platform
from bot.guidance import CONTEXTS, get_guide
from bot.settings import get_settings

if TYPE_CHECKING:
    from bot.adapters.batch import Source
    from bot.core.service import HeadshotService


def _parser() -> argparse.ArgumentParser:
    def say(key: str) -> str:
        return messages.text(f"cli.help.{key}")

    p = argparse.ArgumentParser(prog="headshot-bot", description=say("description"))
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help=say("check"))
    check.add_argument("files", nargs="+", metavar="FILE", help=say("check_files"))
    out = check.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help=say("check_json"))
    out.add_argument("--jsonl", action="store_true", help=say("check_jsonl"))
    out.add_argument("--csv", action="store_true", help=say("check_csv"))
    check.add_argument("--strip", type=Path, metavar="OUT", help=say("check_strip"))
    check.add_argument("--context", choices=CONTEXTS, help=say("check_context"))
    check.add_argument("--more", action="store_true", help=say("check_more"))

    ask = sub.add_parser("ask", help=say("ask"))
    ask.add_argument("question", nargs="+")

    disclose = sub.add_parser("disclose", help=say("disclose"))
    disclose.add_argument("--context", choices=CONTEXTS, required=True)
    disclose.add_argument("--tool", help=say("disclose_tool"))
    disclose.add_argument("--edit-only", action="store_true", help=say("disclose_edit_only"))

    sub.add_parser("console", help=say("console"))
    discord = sub.add_parser("discord", help=say("discord"))
    discord.add_argument("action", nargs="?", choices=["run", "invite-url"], default="run")
    discord.add_argument("--shards", type=shard_ids, metavar="IDS", help=say("discord_shards"))
    discord.add_argument("--shard-count", type=int, metavar="N", help=say("discord_shard_count"))
    slack = sub.add_parser("slack", help=say("slack"))
    slack.add_argument("--http", action="store_true", help=say("slack_http"))
    slack.add_argument("--port", type=int, default=None)
    worker = sub.add_parser("worker", help=say("worker"))
    worker.add_argument("--processes", type=int, default=0, help=say("worker_processes"))
    ev = sub.add_parser("eval", help=say("eval"), add_help=False)
    ev.add_argument("args", nargs=argparse.REMAINDER)
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headshot-check")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:  # the harness parses its own options, --help included
        return _run_eval(argv[1:])
    args = _parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler = {
        "check": _check,
        "ask": _ask,
        "disclose": _disclose,
        "console": _console,
        "discord": _discord,
        "slack": _slack,
        "worker": _worker,
        "eval": _eval,
    }[args.command]
    try:
        return handler(args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling began (reading stdin)
        return 128 + signal.SIGINT


def _service(workers: int | None = None) -> HeadshotService:
    from bot.core.scale import make_pool
    from bot.core.service import HeadshotService

    settings = get_settings()
    return HeadshotService(settings, pool=make_pool(settings, inline=workers == 1))


def _worker(args: argparse.Namespace) -> int:
    from bot.core.scale import run_worker

    return run_worker(get_settings(), args.processes)


def _check(args: argparse.Namespace) -> int:
    from bot.adapters.batch import expand

    if args.strip is not None:
        # Before any work: a bad --strip folder would otherwise fail after every check.
        try:
            args.strip.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = messages.text("cli.strip_is_a_file") if args.strip.is_file() else None
            why = why or (exc.strerror or str(exc)).lower()
            cannot = messages.text("cli.strip_unwritable", path=args.strip, why=why)
            print(f"headshot-bot: {cannot}", file=sys.stderr)
            return 2
    sources = expand(args.files)
    return asyncio.run(_check_async(args, sources))


async def _check_async(args: argparse.Namespace, sources: list[Source]) -> int:
    from bot.adapters.batch import check_files

    # One file runs inline: starting worker processes would cost more than it saves.
    service = _service(workers=1 if len(sources) == 1 else None)
    try:
        return await check_files(service, sources, args)
    finally:
        service.close()


def _ask(args: argparse.Namespace) -> int:
    from bot.core import compose
    from bot.render.text import render_text

    answer = get_guide().answer(" ".join(args.question))
    print(render_text(compose.answer_reply(answer, Platform.CONSOLE)))
    return 0


def _disclose(args: argparse.Namespace) -> int:
    from bot.core import compose
    from bot.render.text import render_text

    label = Label.AI_EDITED if args.edit_only else Label.AI_GENERATED
    d = get_guide().disclosure(args.context, label, args.tool, args.edit_only)
    print(render_text(compose.disclosure_reply(d)))
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.adapters.console import run_console

    service = _service()
    try:
        return run_console(service)
    finally:
        service.close()


def shard_ids(text: str) -> list[int]:
    """`0-3` → [0, 1, 2, 3]; `0,2,5-6` → [0, 2, 5, 6]."""
    ids: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            ids += range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            messages.text("cli.not_shard_ids", text=repr(text))
        ) from None
    return sorted(set(ids))


def _discord(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.adapters.discord import invite_url, run_discord
    from bot.settings import DiscordSettings

    settings = get_settings()
    if args.action == "invite-url":
        try:
            print(invite_url(settings))
        except ValueError as exc:  # no application id: say what to set
            print(f"headshot-bot: {exc}", file=sys.stderr)
            return 2
        return 0
    shards = {"shard_ids": args.shards, "shard_count": args.shard_count}
    chosen = {key: value for key, value in shards.items() if value is not None}
    if chosen:
        try:
            d = DiscordSettings.model_validate(settings.discord.model_dump() | chosen)
        except ValidationError as exc:
            print(f"headshot-bot discord: {exc.errors()[0]['msg']}", file=sys.stderr)
            return 2
        settings = settings.model_copy(update={"discord": d})
    return run_discord(settings)


def _slack(args: argparse.Namespace) -> int:
    from bot.adapters.slack import run_slack

    return run_slack(get_settings(), http=args.http, port=args.port)


def _eval(args: argparse.Namespace) -> int:
    return _run_eval(args.args)


def _run_eval(argv: list[str]) -> int:
    from bot.analysis.evaluation.detector import main as eval_main

    return eval_main(argv)
