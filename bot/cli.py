"""`headshot-bot`: check photos, ask questions, get disclosure text, or run a chat adapter."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from bot.guidance import CONTEXTS, get_guide
from bot.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="headshot-bot", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check photo files")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--strip", type=Path, metavar="OUT", help="write metadata-free copies here")
    check.add_argument("--context", choices=CONTEXTS, help="where the photo will be used")
    check.add_argument("--more", action="store_true", help="show all findings and disclosure text")

    ask = sub.add_parser("ask", help="ask a question about AI headshots")
    ask.add_argument("question", nargs="+")

    disclose = sub.add_parser("disclose", help="disclosure suggestions for a context")
    disclose.add_argument("--context", choices=CONTEXTS, required=True)
    disclose.add_argument("--tool", help="the AI tool you used")
    disclose.add_argument("--edit-only", action="store_true", help="AI edited a real photo")

    sub.add_parser("console", help="chat with the bot in this terminal")
    discord = sub.add_parser("discord", help="run the Discord bot (DISCORD_TOKEN)")
    discord.add_argument("action", nargs="?", choices=["run", "invite-url"], default="run")
    slack = sub.add_parser("slack", help="run the Slack app")
    slack.add_argument("--http", action="store_true", help="HTTP mode instead of Socket Mode")
    slack.add_argument("--port", type=int, default=None)
    ev = sub.add_parser(
        "eval", help="evaluate the pixel detector on a labelled folder", add_help=False
    )
    ev.add_argument("args", nargs=argparse.REMAINDER)
    return p


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
        "eval": _eval,
    }[args.command]
    try:
        return handler(args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _service(workers: int | None = None):
    from bot.core.pool import AnalysisPool
    from bot.core.service import HeadshotService

    settings = get_settings()
    inline = workers == 1
    pool = AnalysisPool(
        settings.analysis.workers, inline=inline, timeout_s=settings.limits.analysis_timeout_s
    )
    return HeadshotService(settings, pool=pool)


def _check(args: argparse.Namespace) -> int:
    if args.strip is not None:
        # Before any work: a bad --strip folder would otherwise fail after every check.
        try:
            args.strip.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "it is a file" if args.strip.is_file() else (exc.strerror or str(exc)).lower()
            print(f"headshot-bot: cannot write copies to {args.strip}: {why}.", file=sys.stderr)
            return 2
    return asyncio.run(_check_async(args))


async def _check_async(args: argparse.Namespace) -> int:
    from bot.core import compose
    from bot.core.request import ImageInput
    from bot.render.text import render_text

    service = _service(workers=1 if len(args.files) == 1 else None)
    try:
        images, problems = [], {}
        for path in args.files:
            problem = _unreadable(path)
            if problem:
                problems[path] = problem
            else:
                images.append(ImageInput(path.name, path.read_bytes()))
        reports = iter(await asyncio.gather(*(service.check(img) for img in images)))
        # In the order given, so output lines up with the command line.
        results = [(p, problems.get(p) or next(reports)) for p in args.files]
        failed = sum(isinstance(r, tuple) or not r.ok for _, r in results)
        if args.json:
            out = [_json_entry(p, r) for p, r in results]
            print(json.dumps(out if len(out) > 1 else out[0], indent=2, ensure_ascii=False))
        else:
            for path, result in results:
                if isinstance(result, tuple):
                    reply, hint = compose.error_reply(str(path), result[1]), []
                else:
                    reply = compose.check_reply(result, service.guide, args.context, platform="cli")
                    hint = _text_hints(args, result, reply)
                print(render_text(reply, pages=args.more, hint=hint) + "\n")
        if args.strip:
            done = [r for _, r in results if not isinstance(r, tuple)]
            await _write_stripped(service, images, done, args.strip)
        return 0 if failed == 0 else 2
    finally:
        service.close()


def _unreadable(path: Path) -> tuple[str, str] | None:
    """(code, message) when `path` cannot be read as a file; None when it can."""
    if path.is_dir():
        return "is_a_directory", "This is a folder, not a file. Give the photo files in it."
    if not path.exists():
        return "file_not_found", "No such file. Check the path and the spelling."
    if not path.is_file():  # /dev/zero, a pipe: reading it could never end
        return "not_a_file", "This is not an ordinary file. Give the path of a photo file."
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return "unreadable", f"The file could not be opened ({exc.strerror or exc})."
    limit = get_settings().limits.max_bytes
    if path.stat().st_size > limit:  # refused before it is read into memory
        return "too_large", (
            f"This file is larger than the {limit / 1e6:g} MB limit. Send the photo itself, "
            "not a huge original or an archive."
        )
    return None


def _json_entry(path: Path, result) -> dict[str, object]:
    """Every entry has the same keys, whether the file was checked or not."""
    if isinstance(result, tuple):
        code, message = result
        entry: dict[str, object] = dict.fromkeys(_JSON_KEYS)
        entry.update(file=path.name, ok=False, error={"code": code, "message": message})
        entry.update(findings=[], checks=[], frames=0)
    else:
        entry = result.to_dict()
    entry["path"] = str(path)
    return entry


# The keys of Report.to_dict(), for entries of files that could not even be read.
_JSON_KEYS = [
    "file",
    "sha256",
    "bytes",
    "format",
    "width",
    "height",
    "frames",
    "ok",
    "error",
    "verdict",
    "generator",
    "findings",
    "checks",
    "elapsed_ms",
]


def _text_hints(args: argparse.Namespace, report, reply) -> list[str]:
    """What to type for what chat users get from buttons: --more, and --strip."""
    from bot.core.compose import messages, more_hint

    m = messages()["check"]
    hints = [] if args.more or not reply.pages else [more_hint(reply, "cli_hint")]
    if report.ok and report.privacy and not args.strip:
        hints.append(m["cli_strip_hint"])
    return hints


async def _write_stripped(service, images, reports, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for image, report in zip(images, reports, strict=True):
        if not report.ok:
            continue
        copy = await service.stripped_copy(image)
        if copy is None:
            print(f"{image.filename}: could not make a copy without metadata.", file=sys.stderr)
            continue
        (out / copy.filename).write_bytes(copy.data)
        print(f"Wrote {out / copy.filename} (metadata removed)", file=sys.stderr)


def _ask(args: argparse.Namespace) -> int:
    from bot.core import compose
    from bot.render.text import render_text

    answer = get_guide().answer(" ".join(args.question))
    print(render_text(compose.answer_reply(answer, "console")))
    return 0


def _disclose(args: argparse.Namespace) -> int:
    from bot.core import compose
    from bot.render.text import render_text

    label = "ai_edited" if args.edit_only else "ai_generated"
    d = get_guide().disclosure(args.context, label, args.tool, args.edit_only)
    print(render_text(compose.disclosure_reply(d)))
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.adapters.console import run_console

    async def go() -> int:
        service = _service()
        try:
            return await run_console(service)
        finally:
            service.close()

    return asyncio.run(go())


def _discord(args: argparse.Namespace) -> int:
    from bot.adapters.discord import invite_url, run_discord

    if args.action == "invite-url":
        print(invite_url(get_settings()))
        return 0
    return run_discord(get_settings())


def _slack(args: argparse.Namespace) -> int:
    from bot.adapters.slack import run_slack

    return run_slack(get_settings(), http=args.http, port=args.port)


def _eval(args: argparse.Namespace) -> int:
    return _run_eval(args.args)


def _run_eval(argv: list[str]) -> int:
    from bot.analysis.evaluate import main as eval_main

    return eval_main(argv)
