"""copier.yml's prompts, answered at the keyboard in an 80-column terminal.

A real `copier copy` runs in a pseudo-terminal; a terminal emulator (pyte) keeps the
screen a user would see. Copier shows every line of a question's help as its prompt
and a validator's message on one line below it, and the terminal cuts any line
longer than its width: each prompt must be whole on that screen.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pyte
import pytest
import yaml

from .helpers import REPO_ROOT

ROWS, COLUMNS = 40, 80
# Copier first copies the template's working tree into a temporary repository.
STARTUP_SECONDS = 120
PROMPT_SECONDS = 30
# Rendering the project and running its tasks, after the last answer.
FINISH_SECONDS = 300
# Copier puts this mark (and a space) before a question's first line; the microphone
# takes two columns.
MARK, MARK_COLUMNS = "🎤 ", 3

ENTER, DOWN, UP, SPACE = "\r", "\x1b[B", "\x1b[A", " "
# Erases the line typed so far (prompt_toolkit's unix-line-discard), a default too.
CLEAR = "\x15"


def _questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml that can be asked: every one with a help text."""
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in config.items()
        if not name.startswith("_") and isinstance(spec, dict) and "help" in spec
    }


QUESTIONS = _questions()


def _help_lines(name: str) -> list[str]:
    return str(QUESTIONS[name]["help"]).rstrip("\n").split("\n")


FIRST_LINES = {MARK + _help_lines(name)[0]: name for name in QUESTIONS}


class Screen(pyte.Screen):
    """An 80-column screen that answers the program's queries, as a terminal does.

    prompt_toolkit asks for the cursor position, and shows a checkbox's validation
    error only once it has the answer.
    """

    def __init__(self, reply: Callable[[str], object]) -> None:
        super().__init__(COLUMNS, ROWS)
        self.reply = reply

    def write_process_input(self, data: str) -> None:
        self.reply(data)


class Terminal:
    """A program in an 80-column pseudo-terminal, and the screen it draws."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.screen = Screen(lambda data: self.child.send(data))
        self.stream = pyte.Stream(self.screen)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"COLUMNS", "LINES", "PROMPT_TOOLKIT_NO_CPR", "NO_COLOR"}
        }
        env.update({"TERM": "xterm", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
        self.child = pexpect.spawn(
            command[0],
            command[1:],
            cwd=str(cwd),
            env=env,
            encoding="utf-8",
            dimensions=(ROWS, COLUMNS),
            timeout=PROMPT_SECONDS,
        )
        self.ended = False

    def lines(self) -> list[str]:
        """The screen, a string per row, trailing spaces removed."""
        return [line.rstrip() for line in self.screen.display]

    def dump(self) -> str:
        return "\n".join(f"{row:2d}|{line}" for row, line in enumerate(self.lines()))

    def wait(self, condition: Callable[[], bool], what: str, seconds: float) -> None:
        """Read the program's output until `condition()` holds on the screen."""
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"waited {seconds} s for {what}; screen:\n{self.dump()}")
            try:
                self.stream.feed(self.child.read_nonblocking(4096, timeout=0.2))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                self.ended = True
                if not condition():
                    pytest.fail(f"exited before {what}; screen:\n{self.dump()}")
                return

    def row_of(self, text: str) -> int | None:
        """The last row that reads exactly `text`."""
        rows = [row for row, line in enumerate(self.lines()) if line == text]
        return rows[-1] if rows else None

    def asking(self) -> str | None:
        """The first line of the question asked last: the lowest with the mark."""
        for line in reversed(self.lines()):
            if line.startswith(MARK):
                return line
        return None

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def finish(self) -> int | None:
        """Wait for the program to end; its exit status (None if a signal ended it)."""
        deadline = time.monotonic() + FINISH_SECONDS
        while not self.ended:
            if time.monotonic() > deadline:
                pytest.fail(f"did not finish; screen:\n{self.dump()}")
            try:
                self.stream.feed(self.child.read_nonblocking(4096, timeout=0.5))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
        self.child.close()
        status: int | None = self.child.exitstatus
        return status

    def close(self) -> None:
        """End the program if it still runs (a failed test leaves none behind)."""
        self.child.close(force=True)


@dataclass
class Prompt:
    """The question being asked, on the screen of `terminal`."""

    terminal: Terminal
    name: str

    @property
    def top(self) -> int:
        """The row of its first line (the screen scrolls up as it fills)."""
        row = self.terminal.row_of(MARK + _help_lines(self.name)[0])
        assert row is not None, f"{self.name} is gone:\n{self.terminal.dump()}"
        return row

    def region(self) -> list[str]:
        """Its rows: from its first line to the bottom of the screen."""
        return self.terminal.lines()[self.top :]

    def expected(self) -> list[str]:
        """Its first rows as they should read: the mark, then the help."""
        first, *details = _help_lines(self.name)
        return [MARK + first, *details]

    def drawn(self) -> bool:
        return self.region()[: len(self.expected())] == self.expected()

    def assert_whole(self) -> None:
        """Every line of the help reads whole, no row reaches the last column."""
        assert self.drawn(), self.terminal.dump()
        buffer = self.terminal.screen.buffer
        for row in range(self.top, ROWS):
            assert buffer[row][COLUMNS - 1].data == " ", (
                f"row {row} reaches column {COLUMNS}:\n{self.terminal.dump()}"
            )

    def wait_for_line(self, text: str) -> None:
        self.terminal.wait(
            lambda: text in self.region(), f"{text!r} below {self.name}", PROMPT_SECONDS
        )

    def wait_until(self, condition: Callable[[list[str]], bool], what: str) -> None:
        self.terminal.wait(lambda: condition(self.region()), what, PROMPT_SECONDS)

    def refuse(self, keys: str, message: str) -> None:
        """Answer with `keys` + Enter; the validator's whole message shows, the
        question stays."""
        self.terminal.send(keys + ENTER)
        error = f"Validation error for question '{self.name}': {message}"
        self.wait_for_line(error)
        self.assert_whole()
        assert self.terminal.asking() == self.expected()[0], self.terminal.dump()


def prompts(terminal: Terminal) -> Iterator[Prompt]:
    """Each question as it is asked, until the program stops asking."""
    asked: set[str] = set()

    def asking_or_done() -> bool:
        line = terminal.asking()
        return (
            line is not None and FIRST_LINES.get(line) not in asked
        ) or terminal.ended

    seconds = STARTUP_SECONDS
    while True:
        terminal.wait(asking_or_done, "a question", seconds)
        seconds = PROMPT_SECONDS
        line = terminal.asking()
        name = FIRST_LINES.get(line or "")
        if line is None or name in asked:
            return
        if name is None:
            pytest.fail(
                f"a prompt reads {line!r}: no question's help begins so"
                f" (cut at {COLUMNS} columns?); screen:\n{terminal.dump()}"
            )
        prompt = Prompt(terminal, name)
        terminal.wait(prompt.drawn, f"the help of {name}", PROMPT_SECONDS)
        asked.add(name)
        yield prompt


def choice(checked: bool, title: str) -> str:
    return f"{'●' if checked else '○'} {title}"


def checkbox_shows(*states: str) -> Callable[[list[str]], bool]:
    return lambda rows: all(any(state in row for row in rows) for state in states)


def answer_auth_methods(prompt: Prompt) -> None:
    """Select jwt and api_key at the keyboard, after refusing an empty selection.

    The pointer starts on the first choice; jwt and oauth2_password are selected.
    """
    jwt = "JWT login (POST /auth/login)"
    oauth2 = "OAuth2 password flow (POST /auth/token)"
    api_key = "API keys (X-API-Key header)"
    prompt.wait_until(
        checkbox_shows(choice(True, jwt), choice(True, oauth2)), "defaults"
    )
    prompt.terminal.send(SPACE + DOWN + SPACE)
    prompt.wait_until(
        checkbox_shows(choice(False, jwt), choice(False, oauth2)), "nothing selected"
    )
    prompt.refuse("", "Select at least one method.")
    prompt.terminal.send(DOWN + SPACE + UP + UP + SPACE)
    prompt.wait_until(
        checkbox_shows(choice(True, jwt), choice(False, oauth2), choice(True, api_key)),
        "jwt and api_key selected",
    )
    prompt.terminal.send(ENTER)


def retype(bad: str, message: str, good: str) -> Callable[[Prompt], None]:
    """Erase the default, give `bad` (refused with `message`), then `good`."""

    def answer(prompt: Prompt) -> None:
        prompt.refuse(CLEAR + bad, message)
        prompt.terminal.send(CLEAR + good + ENTER)

    return answer


def accept_default(prompt: Prompt) -> None:
    prompt.terminal.send(ENTER)


def typed(text: str) -> Callable[[Prompt], None]:
    return lambda prompt: prompt.terminal.send(CLEAR + text + ENTER)


# One refused answer for every question with a validator that these answers ask
# (social_providers is asked only with social login), then a good one. Any other
# question takes its default.
ANSWERS: dict[str, Callable[[Prompt], None]] = {
    "project_name": retype("", "The name cannot be empty.", "Demo Service"),
    "project_slug": retype("Bad Slug", "Not a valid slug (e.g. my-api).", "demo-svc"),
    "package_name": retype("class", '"class" is a Python keyword.', "demo_svc"),
    "author_name": typed("Ada Lovelace"),
    "author_email": retype("ada@", "Not an email address.", "ada@example.com"),
    "auth_methods": answer_auth_methods,
    "access_token_minutes": retype("0", "Use 1 to 1440 minutes.", "30"),
    "refresh_token_days": retype("400", "Use 1 to 365 days.", "14"),
    "cors_origins": retype(
        '["*"]', '"*" would let any site in.', '["https://app.example.com"]'
    ),
}


def copier_command(destination: Path) -> list[str]:
    # The Copier of this interpreter (the one the tests import), whether or not its
    # `copier` script is on PATH. `--vcs-ref HEAD`: the working tree, not the latest
    # tag; uncommitted changes included.
    return [
        sys.executable,
        *("-m", "copier", "copy", "--trust", "--vcs-ref", "HEAD"),
        str(REPO_ROOT),
        str(destination),
    ]


@pytest.mark.parametrize("name", QUESTIONS)
def test_help_fits_80_columns(name: str) -> None:
    """Every question too, asked or not below: the mark and the first line, then
    each further line, leave the last column free."""
    first, *details = _help_lines(name)

    assert MARK_COLUMNS + len(first) < COLUMNS, first
    assert all(len(line) < COLUMNS for line in details), details
    assert all(line.startswith("   ") for line in details), details


def test_interactive_copy_prompts_read_whole_in_80_columns(tmp_path: Path) -> None:
    project = tmp_path / "project"
    terminal = Terminal(copier_command(project), cwd=tmp_path)
    asked = []

    try:
        for prompt in prompts(terminal):
            prompt.assert_whole()
            ANSWERS.get(prompt.name, accept_default)(prompt)
            asked.append(prompt.name)
        assert terminal.finish() == 0, terminal.dump()
    finally:
        terminal.close()

    assert set(ANSWERS) <= set(asked), asked
    assert "social_providers" not in asked
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["auth_methods"] == ["jwt", "api_key"]
    assert answers["project_slug"] == "demo-svc"
    assert answers["package_name"] == "demo_svc"
    assert answers["author_email"] == "ada@example.com"
    assert answers["refresh_token_days"] == 14
    assert answers["cors_origins"] == ["https://app.example.com"]
    methods = project / "src" / "demo_svc" / "auth" / "methods"
    assert (methods / "api_keys.py").is_file()
    assert not (methods / "basic.py").exists()
    assert not (project / "src" / "demo_svc" / "routes" / "password_flow.py").exists()
