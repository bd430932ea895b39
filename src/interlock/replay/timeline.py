"""What happened during a replay, in order: one line per step, with who did it and a verdict.

Each line names its layer (``agent``, ``railway``, ``postgres``, ``scanner``, ``hook``,
``gateway``, ``honeytoken``, ``pagerduty`` …) and, where the line is a check, whether it held
(``ok``) or not (``FAIL``). A layer that could not be tried at all (not installed, crashed) is a
``FAIL`` line saying so, never a silent gap: the timeline is the evidence the README quotes.

Everything printed goes through :func:`interlock.secrets.mask` and then replaces the run's known
secret values (the Railway tokens, the honeytokens, the Interlock tokens) with ``****``: a
replay must not print the credentials it plants. Ids that are UUIDs are shortened to their first
eight characters, after the secrets are gone.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from interlock.secrets import MASK, mask

WIDTH = 160
"""Lines are cut to this many characters: the timeline is read in a terminal and a README."""
_UUID = re.compile(r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


class Status(enum.Enum):
    INFO = ""
    PASS = "ok"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Entry:
    at: float
    """Seconds since the section began."""
    layer: str
    text: str
    status: Status = Status.INFO
    whole: bool = False
    """Printed whole, however long (the agent's commands)."""


@dataclass
class Section:
    title: str
    entries: list[Entry] = field(default_factory=list)


class Timeline:
    """Collects entries per section (one per run) and prints each as it is added."""

    def __init__(
        self,
        title: str,
        echo: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title = title
        self.sections: list[Section] = []
        self._echo = echo
        self._clock = clock
        self._start = clock()
        self._secrets: set[str] = set()
        self._emit(title)

    def secret(self, *values: str) -> None:
        """Values never to print (tokens planted or issued during the run)."""
        self._secrets.update(v for v in values if len(v) >= 6)

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def section(self, title: str) -> None:
        self.sections.append(Section(title))
        self._start = self._clock()
        self._emit("")
        self._emit(f"── {title} " + "─" * max(3, 60 - len(title)))

    def add(
        self, layer: str, text: str, status: Status = Status.INFO, *, whole: bool = False
    ) -> Entry:
        if not self.sections:
            self.section("replay")
        entry = Entry(round(self._clock() - self._start, 2), layer, self.clean(text), status, whole)
        self.sections[-1].entries.append(entry)
        self._emit(render_entry(entry))
        return entry

    def ok(self, layer: str, text: str) -> Entry:
        return self.add(layer, text, Status.PASS)

    def fail(self, layer: str, text: str) -> Entry:
        return self.add(layer, text, Status.FAIL)

    def check(self, layer: str, held: bool, text: str) -> bool:
        """One line that passes when ``held``; returns ``held`` so callers can keep score."""
        self.add(layer, text, Status.PASS if held else Status.FAIL)
        return held

    def note(self, text: str) -> None:
        """A line outside the table (the verdict at the end)."""
        self._emit(self.clean(text))

    def failures(self, section: str | None = None) -> list[Entry]:
        return [
            e
            for s in self.sections
            if section is None or s.title == section
            for e in s.entries
            if e.status is Status.FAIL
        ]

    def clean(self, text: str) -> str:
        cleaned = mask(" ".join(text.split()))
        for value in sorted(self._secrets, key=len, reverse=True):
            cleaned = cleaned.replace(value, MASK)
        # Railway's ids are UUIDs: their first eight characters tell them apart here.
        return _UUID.sub(r"\1…", cleaned)

    def render(self) -> str:
        lines = [self.title]
        for section in self.sections:
            lines += ["", f"── {section.title} " + "─" * max(3, 60 - len(section.title))]
            lines += [render_entry(e) for e in section.entries]
        return "\n".join(lines)

    def _emit(self, line: str) -> None:
        if self._echo is not None:
            self._echo(line)


@dataclass(frozen=True)
class Result:
    """A replay's verdict: the loss reproduced without Interlock, nothing lost with it."""

    timeline: Timeline
    reproduced: bool
    protected: bool

    @property
    def passed(self) -> bool:
        return self.reproduced and self.protected

    def summary(self) -> str:
        without = "loss reproduced" if self.reproduced else "loss NOT reproduced"
        with_ = "nothing lost, every layer held" if self.protected else "FAILED"
        failures = self.timeline.failures()
        lines = [f"without Interlock: {without}; with Interlock: {with_}"]
        lines += [f"  FAIL {e.layer}: {e.text}" for e in failures]
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


Check = Callable[[str, bool, str], bool]
"""``check(layer, held, text)``: one ``ok``/``FAIL`` line, remembered for the verdict."""


def checker(timeline: Timeline, held: list[bool]) -> Check:
    """A :data:`Check` that appends each outcome to ``held``."""

    def check(layer: str, ok: bool, text: str) -> bool:
        held.append(timeline.check(layer, ok, text))
        return ok

    return check


def render_entry(entry: Entry) -> str:
    line = f"  {entry.at:6.2f}s  {entry.layer:<10} {entry.status.value:<4} {entry.text}"
    return line if entry.whole or len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def count(items: Iterable[object], word: str) -> str:
    """``1 backup``, ``3 backups``."""
    n = len(list(items))
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
