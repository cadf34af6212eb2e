"""`headshot-bot console` on a real pseudo-terminal: line editing, history, continued lines,
clear, Ctrl-C and SIGTERM, and suggestions that never repeat what was just asked."""

from __future__ import annotations

import os
import re
import signal

import pytest

from bot.adapters.console import Chat
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.guidance import get_guide
from tests.conftest import busy_machine, png_bytes
from tests.terminal import Terminal, alive, descendants

PROMPT = r"you> "


@pytest.fixture
def console():
    term = Terminal("console", env={"HEADSHOT_ANALYSIS__WORKERS": "1"})
    term.expect(PROMPT)
    yield term
    term.close()


def test_line_editing_and_history(console: Terminal):
    console.send("hep\x1b[Dl\r")  # "hep", cursor left, "l": the line reads "help"
    assert "how to use me" in console.expect(PROMPT).lower()
    console.send("\x1b[A\r")  # up arrow: the last entry again
    assert "how to use me" in console.expect(PROMPT).lower()
    console.send("quit\r")
    assert console.wait() == 0


def test_a_backslash_continues_the_entry_on_the_next_line(console: Terminal):
    console.send("is it ok to use an AI headshot \\\r")
    console.expect(r"\.\.\.> ")
    console.send("on LinkedIn?\r")
    answer = console.expect(PROMPT)
    assert "LinkedIn" in answer and "Headshot Check" in answer
    console.send("exit\r")
    assert console.wait() == 0


def test_clear_and_ctrl_c(console: Terminal):
    console.send("clear\r")
    console.expect(PROMPT)
    assert "\x1b[H\x1b[2J" in console.raw
    console.send("half a question")
    console.send("\x03")  # Ctrl-C, as the terminal sends it: the line is dropped
    assert "Ctrl-C cleared the line" in console.expect(PROMPT)
    console.send("help\r")  # not "half a questionhelp"
    assert "how to use me" in console.expect(PROMPT).lower()
    console.send("\x03")
    console.expect("cleared the line")
    console.send("\x03")  # twice in a row: leave
    assert console.wait() == 0


def test_sigterm_leaves_with_status_0_and_no_child_left(tmp_path):
    photo = tmp_path / "face.png"
    photo.write_bytes(png_bytes())
    term = Terminal("console", env={"HEADSHOT_ANALYSIS__WORKERS": "2"})
    try:
        term.expect(PROMPT)
        term.send(f"{photo}\r")  # a check starts the analysis pool
        assert "No evidence either way" in term.expect(PROMPT)
        children = descendants(term.pid)
        assert len(children) >= 2, children  # the forkserver and its workers
        term.send("a question I have not fini")
        os.kill(term.pid, signal.SIGTERM)
        assert term.wait(40 if busy_machine() else 10) == 0
        assert "Traceback" not in term.text
        assert alive(children) == [], "nothing the console started outlives it"
    finally:
        term.close()


async def test_never_suggests_what_was_just_asked():
    question = "is it ok to use an AI headshot on LinkedIn?"
    follow_up = get_guide().answer(question).follow_ups[0]
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    try:
        chat = Chat(svc)
        assert follow_up in "".join(await chat.turn(question))
        await chat.turn(follow_up)
        again = "".join(await chat.turn(question.upper()))  # asked before, in other words
        assert follow_up not in again and re.search("LinkedIn", again)
    finally:
        svc.close()
