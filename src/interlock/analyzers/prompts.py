"""Confirmation prompts answered from standard input: ``yes | terraform apply``.

A tool that asks a human before it acts (``terraform apply`` shows the plan and waits for
"yes") is allowed without its skip option because the human reads the prompt. Input fed to
it (``yes |``, ``echo yes |``, ``<<< yes``, a file) answers the prompt instead, so the command
is judged as if the option that skips the prompt were given: ``yes | terraform apply`` is
``terraform apply -auto-approve``, and ``echo c | git clean -fdi`` is ``git clean -fd``.

Which option skips which prompt is data (:data:`PROMPTS`, one test per entry); the catalogs
then judge the rewritten command line as they judge the one typed with the option.
"""

from __future__ import annotations

from dataclasses import dataclass

from interlock.analyzers import SimpleCommand
from interlock.decisions import Finding
from interlock.frozen import replace


@dataclass(frozen=True)
class Prompt:
    """A program (and subcommands) that asks before acting, and what input skips the asking."""

    names: tuple[str, ...]
    subcommands: tuple[str, ...] = ()
    """Positionals that ask (``apply``, ``destroy``); empty: the program's every run."""
    skip: str = ""
    """The option that skips the prompt, put right after the subcommand (``-auto-approve``)."""
    interactive: tuple[str, ...] = ()
    """Options that make the program ask (``git clean -i``): removed when input answers."""
    yes: bool = True
    """The prompt takes y/yes; False: a menu that any line may pick from (``git clean -i``)."""


PROMPTS = (
    # Terraform accepts only "yes"; any answer is taken as given (fail closed: `yes yes |`).
    Prompt(("terraform", "tofu", "opentofu"), ("apply", "destroy"), skip="-auto-approve"),
    Prompt(("terragrunt",), ("apply", "destroy"), skip="-auto-approve"),
    Prompt(("gcloud",), ("delete",), skip="--quiet"),
    Prompt(("az",), ("delete",), skip="--yes"),
    Prompt(("apt", "apt-get"), ("remove", "purge", "autoremove"), skip="-y"),
    Prompt(("git",), ("clean",), interactive=("-i", "--interactive"), yes=False),
)
_BY_NAME = {name: prompt for prompt in PROMPTS for name in prompt.names}
PROMPTED = frozenset(_BY_NAME)
"""The programs :func:`answered` may rewrite; it returns None for any other."""


def fed(cmd: SimpleCommand, yes: bool = True) -> bool:
    """Whether standard input can answer a prompt: unknown input (a pipe, a file), or known
    input with a line that starts with y (``yes``, ``echo yes``, ``<<< y``); for a menu
    (``yes=False``), any line that is not blank."""
    if cmd.stdin_unknown:
        return True
    lines = [line.strip() for line in (cmd.stdin or "").splitlines()]
    return any(line and (not yes or line[0] in "yY") for line in lines)


def answered(cmd: SimpleCommand) -> SimpleCommand | None:
    """The command as if its prompt were skipped, or None when nothing changes.

    The rewritten command has no input left: the prompt took it.
    """
    prompt = _BY_NAME.get(cmd.name)
    if prompt is None or len(cmd.argv) < 2 or not fed(cmd, prompt.yes):
        return None
    argv = list(cmd.argv)
    if prompt.skip and any(a.split("=")[0].lstrip("-") == prompt.skip.lstrip("-") for a in argv):
        return None  # already skipped: the input changes nothing
    at = 1
    if prompt.subcommands:
        positions = [i for i, a in enumerate(argv) if i and a in prompt.subcommands]
        if not positions:
            return None
        at = positions[0] + 1
    if prompt.interactive:
        kept = [a for a in argv if a not in prompt.interactive]
        argv = [_without_short(a, prompt.interactive) for a in kept]
        if argv == list(cmd.argv):
            return None
    if prompt.skip:
        argv.insert(at, prompt.skip)
    return replace(cmd, argv=tuple(argv), stdin=None, stdin_unknown=False)


def _without_short(arg: str, options: tuple[str, ...]) -> str:
    """``-fdi`` without ``-i`` is ``-fd``."""
    letters = [o[1] for o in options if len(o) == 2 and o[0] == "-"]
    if len(arg) < 3 or arg[0] != "-" or arg[1] == "-":
        return arg
    stripped = arg[0] + "".join(c for c in arg[1:] if c not in letters)
    return stripped if len(stripped) > 1 else arg


def explain(findings: list[Finding]) -> list[Finding]:
    """Say in each reason that the prompt was answered by input, not by a person."""
    note = "; its confirmation prompt is answered by piped input, not by a person"
    return [replace(f, summary=f.summary + note) for f in findings]
