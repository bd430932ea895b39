"""`interlock terraform`: plan, judge the plan, and apply exactly that plan only when allowed.

The hook cannot see what ``terraform apply plan.out`` will do: reading a plan takes
``terraform show -json``, which runs the working copy's provider plugins. This wrapper does it
outside the hook, in one step, so nothing can slip in between the plan that was judged and the
plan that is applied:

1. ``terraform plan -input=false -out=<private copy> ARGS`` (``destroy`` adds ``-destroy``;
   ``apply PLANFILE`` copies that saved plan instead of planning);
2. ``terraform show -json <copy>``; the selected workspace (``TF_WORKSPACE``, else
   ``.terraform/environment``) is added as ``workspace`` and the plan goes to ``decide()``;
3. allow: ``terraform apply <copy>``, the very file judged (its SHA-256 is checked again first);
   ask: a person types ``yes`` on the terminal (``/dev/tty``, and only when standard input is
   a terminal: a pipe such as ``yes |`` cannot approve, and an agent has no terminal), otherwise
   refused; deny: never applied.

Exit status (docs/cli.md): 0 applied (or allowed with ``--dry-run``), 1 error (including
Terraform failing), 2 denied, 3 ask that nobody approved.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from interlock.actions import TerraformPlanAction
from interlock.cli import render
from interlock.cli.check import CLI_ACTOR, Command, decide_or_raise
from interlock.config import load_policy
from interlock.decisions import Verdict
from interlock.errors import InterlockError

# `apply` with a saved plan takes only these options (always in -name or -name=value form).
APPLY_OPTIONS = ("-auto-approve", "-input", "-lock", "-lock-timeout", "-no-color", "-parallelism")
SUBCOMMANDS = ("plan", "apply", "destroy")
PROGRAMS = ("terraform", "tofu", "opentofu")


class TerraformWrapperError(InterlockError):
    """`interlock terraform` cannot plan, read or apply (usage, Terraform failed)."""

    hint = "see `interlock terraform --help` and docs/cli.md"


def split_args(args: tuple[str, ...]) -> tuple[list[str], str, list[str]]:
    """(global options such as ``-chdir=DIR``, subcommand, the rest); refuses other commands."""
    globals_: list[str] = []
    rest = list(args)
    while rest and rest[0].startswith("-chdir="):
        globals_.append(rest.pop(0))
    sub = "plan"
    if rest and not rest[0].startswith("-"):
        sub = rest.pop(0)
        if sub not in SUBCOMMANDS:
            raise TerraformWrapperError(
                f"interlock terraform runs plan, apply PLANFILE or destroy, not {sub!r}",
                hint=f"run `terraform {sub} …` directly; the hook judges it like any command",
            )
    return globals_, sub, rest


def saved_plan_of(rest: list[str]) -> tuple[str, list[str]]:
    """The plan file of ``apply PLANFILE`` and its allowed options; anything else is refused."""
    files = [a for a in rest if not a.startswith("-")]
    options = [a for a in rest if a.startswith("-")]
    if len(files) != 1:
        raise TerraformWrapperError(
            "interlock terraform apply needs exactly one saved plan file: applying without one "
            "plans and applies in a single step that nobody has seen",
            hint="run `interlock terraform [plan options]`: it plans, judges and applies",
        )
    for option in options:
        if option.lstrip("-").split("=", 1)[0] not in {o.lstrip("-") for o in APPLY_OPTIONS}:
            raise TerraformWrapperError(
                f"{option} does not go with a saved plan; the plan file decides what is applied"
            )
    return files[0], options


def workspace_of(workdir: Path) -> str:
    """The selected workspace: ``TF_WORKSPACE``, else ``.terraform/environment``, else default."""
    selected = os.environ.get("TF_WORKSPACE")
    if selected:
        return selected
    try:
        return (workdir / ".terraform" / "environment").read_text("utf-8").strip() or "default"
    except OSError:
        return "default"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(binary: str, argv: list[str], *, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run Terraform; its own output goes to our stderr so stdout stays the decision."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return subprocess.run(
            [binary, *argv],
            check=False,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else 2,
        )
    except OSError as exc:
        raise TerraformWrapperError(f"cannot run {binary}: {exc.strerror}") from None


def confirm_on_terminal(reasons: str) -> bool:
    """A person types ``yes`` on the controlling terminal; False when there is none."""
    if not sys.stdin.isatty():
        return False
    try:
        # Two handles: a terminal cannot be opened "r+" (it is not seekable).
        with open("/dev/tty", "w", encoding="utf-8") as out, open("/dev/tty", "rb") as keys:
            out.write(f"\n{reasons}\nApply this plan? Only 'yes' applies it: ")
            out.flush()
            return keys.readline(64).strip() == b"yes"
    except OSError:
        return False


@click.command(
    "terraform",
    cls=Command,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--env", help="The environment the stack is in (e.g. development).")
@click.option(
    "--terraform",
    "binary",
    envvar="INTERLOCK_TERRAFORM",
    default="terraform",
    show_default=True,
    help="The Terraform (or OpenTofu) program; also $INTERLOCK_TERRAFORM.",
)
@click.option("--dry-run", is_flag=True, help="Plan and decide, never apply.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: tty).")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def terraform(
    ctx: click.Context,
    env: str | None,
    binary: str,
    dry_run: bool,
    color: bool | None,
    args: tuple[str, ...],
) -> None:
    """Plan, decide on the plan, and apply that exact plan only when allowed.

    Exit: 0 applied (or allowed, with --dry-run), 1 error, 2 denied, 3 ask not approved.

    \b
      interlock terraform --env staging -- -var-file=staging.tfvars
      interlock terraform destroy -target=aws_instance.scratch
      interlock terraform apply saved.tfplan
    """
    globals_, sub, rest = split_args(args)
    if Path(binary).name not in PROGRAMS:
        # The hook allows `interlock terraform …`; it must not become a way to run any program.
        raise TerraformWrapperError(
            f"--terraform must name a Terraform program ({', '.join(PROGRAMS)}), not {binary!r}"
        )
    program = shutil.which(binary)
    if program is None:
        raise TerraformWrapperError(f"{binary} is not on PATH", hint="use --terraform PATH")
    chdir = next((g.split("=", 1)[1] for g in reversed(globals_)), None)
    workdir = Path(chdir or ".").resolve()
    with tempfile.TemporaryDirectory(prefix="interlock-tf-") as private:
        plan_path = Path(private) / "interlock.tfplan"
        apply_options: list[str] = []
        if sub == "apply":
            source, apply_options = saved_plan_of(rest)
            try:
                shutil.copyfile(source, plan_path)
            except OSError as exc:
                raise TerraformWrapperError(f"cannot read plan {source}: {exc.strerror}") from None
        else:
            extra = ["-destroy"] if sub == "destroy" else []
            planned = run(
                program, [*globals_, "plan", "-input=false", f"-out={plan_path}", *extra, *rest]
            )
            if planned.returncode != 0 or not plan_path.is_file():
                raise TerraformWrapperError(f"terraform plan failed (exit {planned.returncode})")
        judged = digest(plan_path)
        shown = run(program, [*globals_, "show", "-json", str(plan_path)], capture=True)
        if shown.returncode != 0:
            raise TerraformWrapperError(f"terraform show -json failed (exit {shown.returncode})")
        plan = parse_plan(shown.stdout)
        plan.setdefault("workspace", workspace_of(workdir))
        action = TerraformPlanAction(plan=plan, env=env or None, cwd=str(workdir), actor=CLI_ACTOR)
        decision = decide_or_raise(action, load_policy(workdir))
        click.echo(render.render_decision(decision, action, color=True), nl=False, color=color)
        verdict = decision.verdict
        if verdict is Verdict.DENY:
            click.echo("not applied: the plan is denied", err=True)
            ctx.exit(2)
        if dry_run:
            ctx.exit(render.EXIT_CODES[verdict])
        if verdict is Verdict.ASK and not confirm_on_terminal(decision.message()):
            click.echo(
                "not applied: the plan needs a person's approval; run this command in a terminal",
                err=True,
            )
            ctx.exit(3)
        if digest(plan_path) != judged:
            raise TerraformWrapperError("the plan file changed after it was judged: not applied")
        applied = run(program, [*globals_, "apply", *apply_options, str(plan_path)])
        if applied.returncode != 0:
            raise TerraformWrapperError(f"terraform apply failed (exit {applied.returncode})")
    ctx.exit(0)


def parse_plan(text: str) -> dict[str, Any]:
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerraformWrapperError(f"terraform show -json printed no JSON: {exc}") from None
    if not isinstance(plan, dict):
        raise TerraformWrapperError("terraform show -json printed no JSON object")
    return plan
