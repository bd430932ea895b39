"""What the doctor found: one :class:`Check` per thing checked, grouped per agent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from interlock.hooks import AGENTS

NAMES = {
    "claude-code": "Claude Code",
    "codex": "Codex CLI",
    "gemini": "Gemini CLI",
    "cursor": "Cursor",
}


class Status(StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    """Protection is missing or broken: doctor exits 1."""
    WARNING = "warning"
    """Could not be verified, or a risk that does not by itself remove the hook."""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "status": str(self.status),
            "message": self.message,
            "fix": self.fix or None,
            "path": self.path,
        }


def ok(name: str, message: str, path: Path | str | None = None) -> Check:
    return Check(name, Status.OK, message, path=str(path) if path else None)


def problem(name: str, message: str, fix: str, path: Path | str | None = None) -> Check:
    return Check(name, Status.PROBLEM, message, fix, str(path) if path else None)


def warning(name: str, message: str, fix: str = "", path: Path | str | None = None) -> Check:
    return Check(name, Status.WARNING, message, fix, str(path) if path else None)


def init_fix(agent: str, user: bool = False) -> str:
    return f"interlock init --agent {agent}" + (" --user" if user else "")


@dataclass
class AgentReport:
    agent: str
    configured: bool
    """Some settings file or project marker of this agent exists: it must be protected."""
    checks: list[Check] = field(default_factory=list)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.PROBLEM]

    @property
    def protected(self) -> bool:
        return self.configured and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "configured": self.configured,
            "protected": self.protected,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class Report:
    project: Path
    agents: tuple[AgentReport, ...]
    workspace: tuple[Check, ...] = ()
    """Stray credentials in the project (`interlock scan`): warnings, never a reason to exit 1.
    The exit status answers "is the hook in force", which a credential file does not change."""

    @property
    def configured(self) -> list[AgentReport]:
        return [a for a in self.agents if a.configured]

    @property
    def ok(self) -> bool:
        """At least one agent is configured and every configured agent is protected."""
        return bool(self.configured) and all(a.protected for a in self.configured)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": str(self.project),
            "agents": [a.to_json() for a in self.agents],
            "workspace": [c.to_json() for c in self.workspace],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    def lines(self) -> list[tuple[str, str | None]]:
        """(text, colour) lines for the terminal."""
        out: list[tuple[str, str | None]] = [(f"interlock doctor: {self.project}", None)]
        colours = {Status.OK: "green", Status.PROBLEM: "red", Status.WARNING: "yellow"}
        for report in self.agents:
            name = NAMES.get(report.agent, report.agent)
            if not report.configured:
                out.append((f"{name}: not configured here (no settings file found)", None))
                continue
            verdict = "protected" if report.protected else "NOT PROTECTED"
            out.append((f"{name}: {verdict}", "green" if report.protected else "red"))
            for check in report.checks:
                label = {Status.OK: "OK", Status.PROBLEM: "PROBLEM", Status.WARNING: "WARN"}
                where = f" ({check.path})" if check.path else ""
                out.append(
                    (
                        f"  {label[check.status]:<7} {check.name}: {check.message}{where}",
                        colours[check.status],
                    )
                )
                if check.fix and check.status is not Status.OK:
                    out.append((f"          fix: {check.fix}", None))
        if self.workspace:
            out.append(("Workspace: credentials an agent could find and use", "yellow"))
            for check in self.workspace:
                where = f" ({check.path})" if check.path else ""
                out.append((f"  WARN    {check.name}: {check.message}{where}", "yellow"))
            for fix in dict.fromkeys(c.fix for c in self.workspace if c.fix):
                out.append((f"          fix: {fix}", None))
        if not self.configured:
            out.append(
                (
                    "PROBLEM: no agent is configured for this project or user, so nothing is "
                    f"protected. Run `interlock init` (agents: {', '.join(AGENTS)}).",
                    "red",
                )
            )
        elif self.ok:
            out.append(("All configured agents are protected.", "green"))
        else:
            bad = [NAMES[a.agent] for a in self.configured if not a.protected]
            out.append((f"Protection is missing for: {', '.join(bad)}.", "red"))
        return out
