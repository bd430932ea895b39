"""`interlock check`: ask the decision point about one action, or a stream of them.

The same pure ``decide()`` the hooks call, from the command line, so a platform engineer can
try a policy before an agent meets it, and CI can replay a corpus (``--batch``). Exit status
(docs/cli.md): 0 allow, 1 error, 2 deny, 3 ask.

Fail closed: in ``--batch`` a line that is not JSON, names no payload or crashes the analyzer
gets a ``deny`` line saying why, and the lines after it are still decided. A single check that
cannot be decided is an error (exit 1), never an allow.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO, TypeVar

import click

from interlock.actions import (
    Action,
    Actor,
    HttpAction,
    ShellAction,
    SqlAction,
    TerraformPlanAction,
)
from interlock.cli import render
from interlock.config import MAX_INPUT_BYTES, Policy, load_policy
from interlock.decisions import Decision
from interlock.errors import InterlockError
from interlock.secrets import mask_json

KINDS = ("shell", "sql", "http", "terraform_plan")
DIALECTS = ("postgres", "mysql", "sqlite", "redis", "mongodb")
CLI_ACTOR = Actor(agent="cli")


class CheckInputError(InterlockError):
    """An action given to `interlock check` cannot be built (no payload, bad JSON, bad plan)."""

    hint = "see `interlock check --help` and docs/cli.md for the accepted forms"


class CheckUsageError(click.UsageError):
    # click's own usage errors exit 2, which `interlock check` reserves for deny.
    exit_code = 1


class Command(click.Command):
    """A click command whose usage errors exit 1, so exit 2 always means deny."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise CheckUsageError(exc.message, exc.ctx) from None


F = TypeVar("F", bound=Callable[..., Any])


def action_options(func: F) -> F:
    """The options that describe one action; shared by `check` and `policy explain`."""
    options = [
        click.argument("command", nargs=-1),
        click.option("--sql", help="An SQL statement (or several) instead of a shell command."),
        click.option(
            "--dialect",
            type=click.Choice(DIALECTS),
            default="postgres",
            show_default=True,
            help="Which client the --sql text goes to.",
        ),
        click.option("--http", nargs=2, metavar="METHOD URL", help="An HTTP request."),
        click.option("--header", "headers", multiple=True, metavar="K:V", help="HTTP header."),
        click.option("--body", default="", help="HTTP request body."),
        click.option(
            "--plan",
            type=click.Path(dir_okay=False, allow_dash=True),
            help="A Terraform plan as JSON (`terraform show -json PLANFILE`); - reads stdin.",
        ),
        click.option("--env", help="The environment the action targets (e.g. production)."),
        click.option(
            "--cwd",
            type=click.Path(file_okay=False),
            help="Working directory of the action; also where interlock.toml is looked up.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def parse_headers(pairs: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise CheckInputError(f"--header {name.strip() or pair!r}: expected NAME:VALUE")
        headers[name.strip()] = value.strip()
    return headers


def read_plan(path: str) -> dict[str, Any]:
    """A plan file (or stdin for ``-``), parsed and checked to be a JSON object."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES * 50 + 1)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_INPUT_BYTES * 50 + 1)
    except OSError as exc:
        raise CheckInputError(f"cannot read plan {path}: {exc.strerror}") from None
    if len(raw) > MAX_INPUT_BYTES * 50:
        raise CheckInputError(f"plan {path} is larger than {MAX_INPUT_BYTES * 50} bytes")
    try:
        plan = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckInputError(f"plan {path} is not JSON: {exc}") from None
    if not isinstance(plan, dict):
        raise CheckInputError(f"plan {path} must be a JSON object (terraform show -json)")
    return plan


def build_action(
    *,
    command: tuple[str, ...],
    sql: str | None,
    dialect: str,
    http: tuple[str, str] | None,
    headers: tuple[str, ...],
    body: str,
    plan: str | None,
    env: str | None,
    cwd: str,
) -> Action:
    """The one action the options describe; exactly one payload must be given."""
    given = [
        name
        for name, v in (("command", command), ("--sql", sql), ("--http", http), ("--plan", plan))
        if v
    ]
    if len(given) != 1:
        raise CheckInputError(
            "give exactly one action: a shell command after --, or --sql, --http or --plan"
            + (f" (got {', '.join(given)})" if given else "")
        )
    common: dict[str, Any] = {"env": env or None, "cwd": cwd, "actor": CLI_ACTOR}
    if command:
        # `interlock check -- rm -rf ~` and `interlock check -- 'rm -rf ~'` mean the same.
        return ShellAction(command=" ".join(command), **common)
    if sql is not None:
        return SqlAction(sql=sql, dialect=dialect, **common)
    if http is not None:
        method, url = http
        return HttpAction(
            method=method.upper(), url=url, headers=parse_headers(headers), body=body, **common
        )
    assert plan is not None
    return TerraformPlanAction(plan=read_plan(plan), **common)


def action_from_record(record: Mapping[str, Any], *, cwd: str) -> Action:
    """One JSON Lines record (``--batch``, the corpus) as an action; other fields are ignored."""
    kind = record.get("kind", "shell")
    env = record.get("env")
    if env is not None and not isinstance(env, str):
        raise CheckInputError("env must be a string")
    common: dict[str, Any] = {"env": env or None, "cwd": cwd, "actor": CLI_ACTOR}
    if kind == "shell":
        command = record.get("command")
        if not isinstance(command, str) or not command.strip():
            raise CheckInputError("kind shell needs a non-empty string in `command`")
        return ShellAction(command=command, **common)
    if kind == "sql":
        sql, dialect = record.get("sql"), record.get("dialect", "postgres")
        if not isinstance(sql, str) or not sql.strip():
            raise CheckInputError("kind sql needs a non-empty string in `sql`")
        if dialect not in DIALECTS:
            raise CheckInputError(f"dialect must be one of {', '.join(DIALECTS)}")
        return SqlAction(sql=sql, dialect=dialect, **common)
    if kind == "http":
        return _http_from_record(record.get("http"), common)
    if kind == "terraform_plan":
        plan = record.get("plan")
        if not isinstance(plan, dict):
            raise CheckInputError("kind terraform_plan needs a JSON object in `plan`")
        return TerraformPlanAction(plan=plan, **common)
    raise CheckInputError(f"unknown kind {kind!r}: use {', '.join(KINDS)}")


def _http_from_record(http: Any, common: dict[str, Any]) -> HttpAction:
    if not isinstance(http, dict):
        raise CheckInputError("kind http needs an object in `http` with method and url")
    method, url = http.get("method"), http.get("url")
    if not isinstance(method, str) or not isinstance(url, str) or not url:
        raise CheckInputError("http.method and http.url must be strings")
    headers = http.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise CheckInputError("http.headers must be an object of strings")
    body = http.get("body", "")
    if not isinstance(body, str):
        # A GraphQL body is often written as an object; send it as the JSON it stands for.
        body = json.dumps(body, separators=(",", ":"))
    return HttpAction(method=method.upper(), url=url, headers=headers, body=body, **common)


def decide_or_raise(action: Action, policy: Policy) -> Decision:
    """``decide()``, with any crash turned into an InterlockError (exit 1, never allow)."""
    from interlock.engine import decide

    try:
        return decide(action, policy)
    except InterlockError:
        raise
    except Exception as exc:  # an analyzer bug must not look like a verdict
        raise InterlockError(
            f"the {action.kind} analyzer failed: {type(exc).__name__}: {exc}",
            hint="this is a bug in Interlock; the action must be treated as denied",
        ) from exc


def audit(policy: Policy, action: Action, decision: Decision) -> None:
    """Append the decision to the project's hash-chained audit log (``--audit``)."""
    try:
        from interlock.audit import AuditLog, default_log_path, record_decision
    except ImportError as exc:
        raise InterlockError(f"the audit log is not available: {exc}") from None
    record_decision(AuditLog(default_log_path(policy.project_root)), action, decision)


@click.command("check", cls=Command)
@action_options
@click.option("--batch", is_flag=True, help="Read JSON Lines actions on stdin, write decisions.")
@click.option("--audit", "with_audit", is_flag=True, help="Append each decision to the audit log.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: tty).")
@click.pass_context
def check(
    ctx: click.Context,
    command: tuple[str, ...],
    sql: str | None,
    dialect: str,
    http: tuple[str, str] | None,
    headers: tuple[str, ...],
    body: str,
    plan: str | None,
    env: str | None,
    cwd: str | None,
    as_json: bool,
    batch: bool,
    with_audit: bool,
    color: bool | None,
) -> None:
    """Decide one action: allow (exit 0), deny (2) or ask (3); errors exit 1.

    \b
      interlock check -- 'rm -rf ~'
      interlock check --sql 'DROP TABLE users' --env production
      interlock check --http POST https://backboard.railway.app/graphql/v2 --body '…'
      interlock check --plan plan.json --json
      interlock check --batch < actions.jsonl > decisions.jsonl
    """
    workdir = os.path.abspath(cwd or os.getcwd())
    policy = load_policy(workdir)
    if batch:
        if command or sql or http or plan:
            raise CheckInputError("--batch reads actions from stdin; give no action arguments")
        ctx.exit(
            run_batch(
                sys.stdin,
                _stdout(),
                policy=policy,
                cwd=workdir,
                on_decision=(lambda a, d: audit(policy, a, d)) if with_audit else None,
                env=env,
            )
        )
    action = build_action(
        command=command,
        sql=sql,
        dialect=dialect,
        http=http,
        headers=headers,
        body=body,
        plan=plan,
        env=env,
        cwd=workdir,
    )
    decision = decide_or_raise(action, policy)
    if with_audit:
        audit(policy, action, decision)
    if as_json:
        click.echo(render.decision_json(decision))
    else:
        click.echo(render.render_decision(decision, action, color=True), nl=False, color=color)
    ctx.exit(render.EXIT_CODES[decision.verdict])


def _stdout() -> TextIO:
    return sys.stdout


def _error_row(record_id: Any, rule: str, message: str) -> dict[str, Any]:
    return {
        **({"id": record_id} if record_id is not None else {}),
        "decision": "deny",
        "rule": rule,
        "reasons": [{"rule": rule, "message": message, "verdict": "deny"}],
        "findings": [],
        "action_digest": None,
    }


def run_batch(
    lines: TextIO,
    out: TextIO,
    *,
    policy: Policy,
    cwd: str,
    env: str | None = None,
    on_decision: Callable[[Action, Decision], None] | None = None,
) -> int:
    """Decide every JSON Lines record of ``lines``; one JSON object per line to ``out``.

    Returns 0 when every line was decided (a malformed line is decided: deny), 1 when an
    analyzer crashed on some line (that line is still answered with a deny).
    """
    status = 0
    for number, line in enumerate(lines, 1):
        row = _batch_row(line, number, policy=policy, cwd=cwd, env=env, on_decision=on_decision)
        if row.get("rule") == "check.internal-error":
            status = 1
        out.write(json.dumps(mask_json(row), ensure_ascii=False) + "\n")
        out.flush()
    return status


def _batch_row(
    line: str,
    number: int,
    *,
    policy: Policy,
    cwd: str,
    env: str | None,
    on_decision: Callable[[Action, Decision], None] | None,
) -> dict[str, Any]:
    if len(line.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        return _error_row(
            None,
            "check.input-too-large",
            f"line {number} is larger than {MAX_INPUT_BYTES} bytes: not decided",
        )
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error_row(None, "check.invalid-json", f"line {number} is not valid JSON: {exc}")
    if not isinstance(record, dict):
        return _error_row(None, "check.invalid-json", f"line {number} is not a JSON object")
    record_id = record.get("id")
    if env is not None and "env" not in record:
        record = {**record, "env": env}
    try:
        action = action_from_record(record, cwd=cwd)
        decision = decide_or_raise(action, policy)
    except CheckInputError as exc:
        return _error_row(record_id, "check.invalid-action", f"line {number}: {exc}")
    except InterlockError as exc:
        return _error_row(record_id, "check.internal-error", f"line {number}: {exc}")
    if on_decision is not None:
        on_decision(action, decision)
    return {**({"id": record_id} if record_id is not None else {}), **decision.to_json()}
