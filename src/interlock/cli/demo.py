"""`interlock demo` (what `make run` starts): init in a demo project, then a guided check.

Until the approval server exists, Interlock's main job is the hook. The demo proves it end to
end on this machine: it creates a small project, installs the hook for all four agents with the
real installer, sends sample actions through the real hook process exactly as Claude Code
would, shows what the agent would be told, and verifies the audit log those calls wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

DEMO_POLICY = """\
# Demo policy: which hosts are production, and one rule of the team's own.
[environments]
default = "staging"
production = ["production", "prod"]

[environments.hosts]
production = ["db.acme.internal", "backboard.railway.app"]

[[rules]]
id = "no-force-push"
operation = "git.force_push"
decision = "deny"
reason = "history is rewritten by people, not agents"
"""

RAILWAY = (
    "curl -X POST https://backboard.railway.app/graphql/v2 "
    '-H "Authorization: Bearer $RAILWAY_TOKEN" -H "Content-Type: application/json" '
    """-d '{"query":"mutation { volumeDelete(volumeId: \\"7f3c-prod\\") }"}'"""
)

# (what a person would call it, Claude Code tool, input)
SAMPLES: list[tuple[str, str, dict[str, str]]] = [
    ("list files", "Bash", {"command": "ls -la"}),
    ("run the tests", "Bash", {"command": "pytest -q && git status"}),
    ("clean dependencies", "Bash", {"command": "rm -rf node_modules dist"}),
    ("mention danger in text", "Bash", {"command": 'echo "never run rm -rf /" >> NOTES.md'}),
    ("delete the home folder", "Bash", {"command": "rm -rf ~"}),
    ("…hidden in bash -c", "Bash", {"command": "bash -c 'eval \"rm -rf $HOME\"'"}),
    ("…as a python one-liner", "Bash", {"command": "python3 -c 'import shutil; shutil.rmtree(\"/etc\")'"}),
    ("…base64-encoded", "Bash", {"command": "echo cm0gLXJmIH4K | base64 -d | sh"}),
    ("delete hand-written code", "Bash", {"command": "rm -rf src"}),
    ("drop a production table", "Bash", {"command": "psql -h db.acme.internal -c 'DROP TABLE users'"}),
    ("PocketOS: Railway volumeDelete", "Bash", {"command": RAILWAY}),
    ("force-push main", "Bash", {"command": "git push --force origin main"}),
    ("destroy infrastructure", "Bash", {"command": "terraform destroy -auto-approve"}),
    ("read a credential file", "Read", {"file_path": ".env"}),
]  # fmt: skip

COLOURS = {"allow": "green", "ask": "yellow", "deny": "red"}


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".interlock/demo-project"),
    show_default=True,
    help="Where to create the demo project.",
)
def demo(folder: Path) -> None:
    """Install Interlock in a demo project and show what it does to sample agent actions."""
    from interlock import installer
    from interlock.hooks import AGENTS

    project = folder.absolute()
    _make_project(project)
    click.secho(f"1. A demo project at {project}", bold=True)
    click.echo("   (src/, node_modules/, a .env with a fake token, a git repository)\n")
    click.secho("2. interlock init: the hook goes into each agent's settings", bold=True)
    for change in installer.install(project, AGENTS, user=False):
        click.echo(f"   {change.agent:<12} {change.path.relative_to(project)}: {change.what}")
    click.echo(f"   hook command: {installer.hook_command('claude-code')}\n")
    click.secho(
        "3. Sample actions, sent through the real hook as Claude Code sends them", bold=True
    )
    log = project / ".interlock" / "audit.jsonl"
    for label, tool, tool_input in SAMPLES:
        verdict, told = _ask_hook(project, log, tool, tool_input)
        shown = tool_input.get("command") or f"{tool} {tool_input.get('file_path', '')}"
        click.echo(f"   {click.style(verdict.upper().ljust(5), fg=COLOURS.get(verdict, 'red'), bold=True)} "
                   f"{label}: {_clip(shown, 70)}")  # fmt: skip
        if told:
            click.echo(f"         agent is told: {_clip(told, 150)}")
    click.echo()
    click.secho("4. The audit log those calls wrote", bold=True)
    from interlock import audit

    report = audit.verify(log)
    state = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    click.echo(f"   {report.records} records, hash chain {state} (interlock audit verify)")
    click.echo()
    click.secho("Next:", bold=True)
    click.echo(f"   interlock audit tail --log {log}")
    click.echo("   interlock check -- 'kubectl --context prod-eu delete ns payments'")
    click.echo("   interlock init            # in your own project (interlock init --undo reverts)")


def _make_project(project: Path) -> None:
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "node_modules" / "left-pad").mkdir(parents=True, exist_ok=True)
    (project / "src" / "app.py").write_text("print('hello')\n")
    (project / ".env").write_text("RAILWAY_TOKEN=demo-not-a-real-token\n")
    (project / "CLAUDE.md").write_text("# Demo project\n")
    (project / "interlock.toml").write_text(DEMO_POLICY)
    if not (project / ".git").exists():
        subprocess.run(["git", "init", "-q", str(project)], check=False, capture_output=True)
        (project / ".git").mkdir(exist_ok=True)


def _ask_hook(project: Path, log: Path, tool: str, tool_input: dict[str, str]) -> tuple[str, str]:
    payload = {
        "session_id": "demo-session",
        "transcript_path": str(project / "transcript.jsonl"),
        "cwd": str(project),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_demo",
    }
    env = {**os.environ, "INTERLOCK_AUDIT_LOG": str(log), "CLAUDE_PROJECT_DIR": str(project)}
    env.pop("INTERLOCK_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "interlock.hooks", "claude-code"],
        input=json.dumps(payload).encode(),
        capture_output=True,
        cwd=project,
        env=env,
        timeout=60,
        check=False,
    )
    if done.returncode == 2:
        return "deny", done.stderr.decode(errors="replace").strip()
    if done.returncode == 0 and done.stdout.strip():
        answer = json.loads(done.stdout)["hookSpecificOutput"]
        return answer["permissionDecision"], answer.get("permissionDecisionReason", "")
    if done.returncode == 0:
        return "allow", ""
    return "error", f"exit {done.returncode}: {done.stderr.decode(errors='replace').strip()}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
