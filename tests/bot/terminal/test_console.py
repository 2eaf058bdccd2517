"""The terminal: control characters stripped from what is typed and shown; line editing on a TTY."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.context import Place, Speaker
from bot.core import Core
from bot.digests import Digests
from bot.terminal.chat import CHANNEL, WORKSPACE, Chat
from bot.terminal.console import scrub, strip_controls
from bot.terminal.render import TerminalRenderer
from bot.tracking import Tracking
from flows.replies import Card, Field, Say, Show
from tests.conftest import NOW

OURS = re.compile(r"\x1b\[\d+m")  # the renderer's own colours
LEFT_OVER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("plain text, tabs\tand\nnewlines stay", "plain text, tabs\tand\nnewlines stay"),
        ("Zoë’s 模型 🚀 stays", "Zoë’s 模型 🚀 stays"),
        ("red\x1b[31m text\x1b[0m", "red text"),
        ("clear\x1b[2J\x1b[H screen", "clear screen"),
        ("title\x1b]0;pwned\x07 bell", "title bell"),
        ("link\x1b]8;;https://evil.example\x1b\\ here", "link here"),
        ("c1\x9b2J csi\x9d0;x\x9c osc", "c1 csi osc"),
        ("nul\x00 bs\x08 cr\r del\x7f nel\x85 esc\x1bc", "nul bs cr del nel esc"),
        ("an unfinished \x1b]0;title", "an unfinished 0;title"),
    ],
)
def test_strip_controls_removes_escapes_and_control_characters_only(typed, kept):
    assert strip_controls(typed) == kept


def test_scrub_cleans_every_text_of_a_reply():
    card = Card(
        title="Churn\x1b[2J model",
        fields=(Field("Owner\x07", "ann\x1b]0;x\x07", person={"id": "U1"}),),
        progress=(1, 2),
        warnings=("w\x9b1m",),
    )
    assert scrub(Show(card)) == Show(
        Card(
            title="Churn model",
            fields=(Field("Owner", "ann", person={"id": "U1"}),),
            progress=(1, 2),
            warnings=("w",),
        )
    )
    assert scrub(Say("ok")) == Say("ok")


async def _lines(*texts: str):
    for text in texts:
        yield text + "\n"


def _core(conversations) -> Core:
    sessions, flow, zone = conversations.sessions, conversations.flow, ZoneInfo("UTC")
    return Core(
        sessions=sessions,
        flow=flow,
        conversations=conversations,
        digests=Digests(sessions=sessions, flow=flow, default_timezone=zone),
        tracking=Tracking(sessions=sessions, default_timezone=zone),
        clock=lambda: NOW,
    )


def _chat(conversations, out: io.StringIO) -> Chat:
    return Chat(
        core=_core(conversations),
        user="alice",
        out=out,
        renderer=TerminalRenderer(colour=True),
        clock=lambda: NOW,
    )


async def test_what_is_typed_is_stored_without_control_characters(conversations):
    out = io.StringIO()
    await _chat(conversations, out).run(
        _lines("/new Fraud\x1b[31m\x00 model", "Cards\x08 stolen\x1b[0m")
    )
    assert "Planning 'Fraud model'" in out.getvalue()
    documents = _core(conversations).documents
    document = await documents.document(name="Fraud model", workspace=f"terminal:{WORKSPACE}")
    assert document["sections"][0]["questions"][0]["value"] == "Cards stolen"


async def test_names_and_answers_stored_elsewhere_are_shown_without_control_characters(
    conversations,
):
    # As another client could have stored them: straight through the conversation service.
    place, alice = Place("terminal", WORKSPACE, CHANNEL), Speaker(id="alice", name="alice")
    created = await conversations.new_project(
        place=place, speaker=alice, name="Churn\x1b]0;pwned\x07 model\x9b2J", now=NOW
    )
    thread = Place("terminal", WORKSPACE, CHANNEL, str(created.project.id))
    await conversations.set_thread(
        place=thread, project_id=created.project.id, channel=CHANNEL, thread=thread.thread, now=NOW
    )
    await conversations.reply(
        place=thread, speaker=alice, text="Shelves\x1b[2J\x1b[31m run\x07 empty\x7f\x85", now=NOW
    )
    out = io.StringIO()
    await _chat(conversations, out).run(_lines("/list", "back"))
    shown = out.getvalue()
    assert "Resuming 'Churn model'" in shown
    assert "Churn model: stage not set" in shown
    assert "Current answer: Shelves run empty" in shown
    assert OURS.search(shown)  # the renderer's colours stay
    assert not LEFT_OVER.search(OURS.sub("", shown))


# select, poll, pselect6, ppoll on x86_64 and aarch64: the calls readline waits for a key in.
WAITING_FOR_INPUT = {"7", "23", "270", "271", "72", "73"}


def _wait_until_waiting_for_a_key(pid: int, seconds: float = 30) -> None:
    """Wait until the child sleeps in its wait for a key, where readline takes Ctrl-C.

    CPython's readline draws the prompt, then waits in select(); a SIGINT that lands between
    the two is noticed only at the next key (Modules/readline.c checks signals only when
    select() is interrupted), so a Ctrl-C sent the instant the prompt shows can be missed.
    A person is never that fast; the test waits for the select() as a person would.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            call = Path(f"/proc/{pid}/syscall").read_text().split(" ", 1)[0]
        except OSError:  # no /proc: give readline a moment instead
            time.sleep(0.5)
            return
        if call in WAITING_FOR_INPUT:
            return
        time.sleep(0.01)


def _mlplan_in_a_terminal(database_url: str, tmp_path: Path, keys: list[str]) -> str:
    """Run `mlplan chat` on a pseudo-terminal, type each string of keys, return what it showed."""
    script = Path(sys.executable).with_name("mlplan")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: mlplan, with the pseudo-terminal as its terminal
        os.chdir(tmp_path)
        # A signal ignored or blocked in the test process (a thread, an event loop of an
        # earlier test) would be inherited through exec: give mlplan a terminal's defaults.
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        env = {**os.environ, "DATABASE_URL": database_url, "NO_COLOR": "1", "TERM": "xterm"}
        os.execve(command[0], [*command, "chat", "--user", "tty"], env)

    def read_until(needle: bytes, seconds: float = 30) -> bytes:
        seen, deadline = b"", time.monotonic() + seconds
        while needle not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    seen += os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
        return seen

    try:
        shown = read_until(b"> ")
        for typed in keys:
            if typed == "\x03":
                _wait_until_waiting_for_a_key(pid)
            os.write(fd, typed.encode())
            # Wait for the prompt after the output (a redrawn line shows "> " too, without a newline).
            shown += read_until(b"\r\n> " if typed.endswith("\r") else b"Bye.")
        deadline = time.monotonic() + 30
        while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.close(fd)
    if ended[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f"mlplan chat did not end; it showed: {shown!r}")
    assert os.waitstatus_to_exitcode(ended[1]) == 0
    return shown.decode(errors="replace")


def test_on_a_terminal_lines_can_be_edited_and_recalled_and_ctrl_c_leaves(
    engine, database_url, tmp_path
):
    pytest.importorskip("readline", reason="line editing needs the readline module")
    shown = _mlplan_in_a_terminal(
        database_url,
        tmp_path,
        [
            "new Alpha\x01/\r",  # Ctrl-A goes to the start of the line: `/new Alpha`
            "/list\r",
            "\x1b[A\r",  # the up arrow recalls `/list`
            "\x03",  # Ctrl-C at the prompt ends the chat like the end of input
        ],
    )
    assert "Planning 'Alpha'" in shown
    assert shown.count("1 project\r\n") == 2
    assert "Bye. Every answer is saved" in shown


async def test_a_section_assigned_in_the_terminal_is_asked_when_that_person_signs_in(
    conversations,
):
    """`@bob` names who signs in as bob; bob's questions are his to read, not alice's."""
    out = io.StringIO()
    await _chat(conversations, out).run(_lines("/new Alpha", "/assign Alpha canvas @bob"))
    shown = out.getvalue()
    assert "@bob owes “Machine Learning Canvas” (3 questions), assigned by @alice" in shown
    assert "mlplan chat --user bob" in shown
    assert "asked you to answer" not in shown  # bob's direct message is not printed to alice

    bob, out = _chat(conversations, io.StringIO()), io.StringIO()
    bob.speaker, bob.out = Speaker(id="bob", name="bob"), out
    await bob.run(_lines("Labels from the tills, next day", "skip", "A holdout month, per store"))
    shown = out.getvalue()
    assert "@alice asked you to answer “Machine Learning Canvas” of the plan 'Alpha'" in shown
    assert "[question 1 of 3]" in shown and "[question 2 of 3]" in shown
    assert "[question 3 of 3]" in shown
    assert "that was the last question of “Machine Learning Canvas”" in shown

    documents = _core(conversations).documents
    document = await documents.document(name="Alpha", workspace=f"terminal:{WORKSPACE}")
    canvas = next(s for s in document["sections"] if s["id"] == "canvas")
    answered = {q["id"]: q for q in canvas["questions"]}
    assert answered["data_collection"]["value"] == "Labels from the tills, next day"
    assert answered["data_collection"]["history"][0]["author"]["id"] == "bob"
    assert answered["features"]["skipped"] is True
    assert answered["offline_evaluation"]["value"] == "A holdout month, per store"

    again = io.StringIO()
    bob.out = again
    await bob.run(_lines())
    assert "asked you to answer" not in again.getvalue()  # nothing is owed any more
    assert "Resuming 'Alpha'" in again.getvalue()  # the plan bob worked on last, at its question


async def test_an_at_name_in_the_terminal_is_a_person_and_an_email_stays_an_email():
    from bot.terminal.chat import terminal_people

    assert terminal_people("assign Alpha data @ann") == "assign Alpha data @{ann|ann}"
    assert terminal_people("mail ann@example.com") == "mail ann@example.com"
    assert terminal_people("@{U1|Ann} stays") == "@{U1|Ann} stays"
    assert terminal_people("owner @here") == "owner @here"  # a group, refused as elsewhere
