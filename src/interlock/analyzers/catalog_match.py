"""The catalog matcher: a command line split by one tool's conventions, then judged by rules.

Split from catalog.py (STYLE.md §1). This part only knows how command lines are shaped:
options versus positionals (``--opt=value``, ``-rf`` clusters, ``--``, Go-style
``-auto-approve``), subcommands and how paths are judged (:mod:`interlock.paths`); which
environment a finding is in is :mod:`.catalog_env`'s. A rule matches the
parsed command line, never the raw string (peers.md §b.2: dcg#132, dcg#170), so
``git commit -m 'push --force main'`` is a commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from interlock.analyzers import DYN, SimpleCommand, is_dynamic, show
from interlock.analyzers.catalog_env import environment, place
from interlock.analyzers.catalog_model import Rule, Source, Tool
from interlock.config import Policy
from interlock.decisions import Finding, Verdict
from interlock.frozen import quick_init
from interlock.paths import (
    DELETE_VERDICT,
    WRITE_VERDICT,
    Place,
    describe,
    is_credential,
    place_of,
    resolve,
)

__all__ = ["Parsed", "env_name", "parse_args", "rule_findings"]

_HELP = frozenset({"--help", "-help", "--version", "-version"})


@quick_init
@dataclass(frozen=True)
class Parsed:
    """A command line split by one tool's conventions."""

    options: tuple[tuple[str, str | None], ...]
    """(name, value) in order; ``--`` itself is recorded as an option named ``--``."""
    positionals: tuple[str, ...]
    help_at: int | None = None
    """Positionals before the first ``--help``/``--version``, if one was given."""
    dashdash_at: int | None = None
    """Positionals before ``--``, if it was given (``git checkout main -- src/a.py``)."""


def parse_args(args: tuple[str, ...], tool: Tool) -> Parsed:
    """The words after the program name, split by ``tool``'s conventions."""
    if not args:
        return _NOTHING
    options: list[tuple[str, str | None]] = []
    positionals: list[str] = []
    index, count, ended = 0, len(args), False
    help_at: int | None = None
    dashdash_at: int | None = None
    go = tool.style == "go"
    value_options = tool.value_options
    while index < count:
        word = args[index]
        index += 1
        if ended or len(word) < 2 or word[0] != "-" or DYN in word[:2]:
            positionals.append(word)
            continue
        if help_at is None and word.partition("=")[0] in _HELP:
            help_at = len(positionals)
        if word == "--":
            ended, dashdash_at = True, len(positionals)
            options.append(("--", None))
            continue
        if go or word[1] == "-":
            name, equals, value = word.partition("=")
            if go and name.startswith("--"):
                name = name[1:]  # Go's flag package reads --x as -x
            if not equals and name in value_options and index < count:
                value, index = args[index], index + 1
                equals = "="
            options.append((name, value if equals else None))
            continue
        for position in range(1, len(word)):  # "-rf" is -r -f; "-nprod" is -n prod
            flag = "-" + word[position]
            if flag in value_options:
                value = word[position + 1 :]
                if not value and index < count:
                    value, index = args[index], index + 1
                options.append((flag, value))
                break
            options.append((flag, None))
    return Parsed(tuple(options), tuple(positionals), help_at, dashdash_at)


_NOTHING = Parsed((), ())
"""A command line with no words after the program name."""


def _option_values(parsed: Parsed, names: tuple[str, ...], tool: Tool) -> list[str | None]:
    """Values of every occurrence of any of ``names`` (None for a flag)."""
    found: list[str | None] = []
    abbreviations = tool.abbreviations
    for option, value in parsed.options:
        if option in names or (
            abbreviations
            and len(option) >= 5
            and option.startswith("--")
            and any(name.startswith(option) for name in names)
        ):
            found.append(value)
    return found


def _rule_matches(rule: Rule, parsed: Parsed, tool: Tool) -> tuple[str, ...] | None:
    """The positionals after the subcommand when ``rule`` matches, else None."""
    positionals = parsed.positionals
    if len(positionals) < len(rule.subcommand):
        return None
    if parsed.help_at is not None and parsed.help_at <= len(rule.subcommand):
        # `terraform destroy -help` prints help. Only before the operands: BSD rm reads
        # `rm -rf / --help` as three operands, so a later --help proves nothing.
        return None
    for word, (negated, test) in zip(positionals, rule.subcommand_tests, strict=False):
        if test(word) == negated:
            return None
    rest = positionals[len(rule.subcommand) + rule.skip_positionals :]
    if rule.min_args is not None and len(rest) < rule.min_args:
        return None
    if rule.max_args is not None and len(rest) > rule.max_args:
        return None
    if rule.any_options and not any(_option_values(parsed, g, tool) for g in rule.any_options):
        return None
    if rule.all_options and not all(_option_values(parsed, g, tool) for g in rule.all_options):
        return None
    if rule.none_options and any(_option_values(parsed, g, tool) for g in rule.none_options):
        return None
    for names, test in rule.option_value_tests:
        values = _option_values(parsed, names, tool)
        if not any(v is not None and test(v) for v in values):
            return None
    if rule.args_any and not any(map(rule.args_any_test, rest)):
        return None
    if rule.args_none and any(map(rule.args_none_test, rest)):
        return None
    return rest


def env_name(name: str, policy: Policy) -> str | None:
    """The environment a context, profile, project or host name belongs to, if any."""
    return place(policy, "any", name)


def _is_remote(word: str) -> bool:
    """``host:/path`` or ``user@host:dir`` (rsync, scp): not a local path."""
    head, colon, _ = word.partition(":")
    return bool(colon) and bool(head) and "/" not in head and not word.startswith(("~", "."))


def _path_words(rule: Rule, rest: tuple[str, ...]) -> list[str]:
    words = list(rest)
    if rule.path_prefixes:
        words = [
            w[len(p) :] for w in words for p in rule.path_prefixes if w.startswith(p) and w != p
        ]
    if rule.targets == "last_path":
        if len(words) >= 2 and words[-1].endswith("/"):
            # "mv build.log /tmp/": the file lands inside the folder, not over it.
            return [words[-1] + words[0].rstrip("/").rsplit("/", 1)[-1]]
        return words[-1:] if words else []
    if rule.targets == "source_paths":
        return words[:-1]
    return words


def _judge_paths(
    rule: Rule, words: list[str], cmd: SimpleCommand
) -> tuple[Verdict, list[str], str] | None:
    """Strictest verdict over the path targets, the targets shown, and the worst place."""
    table = WRITE_VERDICT if rule.verdict == "by-path:write" else DELETE_VERDICT
    worst: tuple[Verdict, str] | None = None
    shown: list[str] = []
    for word in words:
        place = Place.UNKNOWN if _is_remote(word) else place_of(word, cmd.scope)
        if rule.places and place.name not in rule.places:
            continue
        verdict = table[place] if rule.verdict.startswith("by-path") else rule.fixed_verdict
        if is_dynamic(word) and verdict is Verdict.ALLOW:
            # Part of the path is only known at run time ("build/$X" may be "build/../.."):
            # the brief's rule is that an unknown place is at least ask.
            place, verdict = Place.UNKNOWN, Verdict.ASK
        if verdict is Verdict.ALLOW:
            continue
        shown.append(show(word) if _is_remote(word) else show(resolve(word, cmd.scope)))
        if worst is None or verdict.rank > worst[0].rank:
            worst = (verdict, describe(word, place))
    if worst is None:
        return None
    return worst[0], shown, worst[1]


def _finding(
    rule: Rule, tool: Tool, parsed: Parsed, rest: tuple[str, ...], cmd: SimpleCommand
) -> Finding | None:
    place = ""
    option_targets = (
        [v for v in _option_values(parsed, rule.target_options, tool) if v is not None]
        if rule.target_options
        else []
    )
    if rule.targets in ("credentials", "credential_sources"):
        words = [*(rest[:-1] if rule.targets == "credential_sources" else rest), *option_targets]
        targets = [
            show(resolve(w, cmd.scope))
            for w in words
            if not _is_remote(w) and is_credential(resolve(w, cmd.scope), cmd.scope)
        ]
        if not targets:
            return None
        verdict = rule.fixed_verdict
    elif rule.targets in ("paths", "last_path", "source_paths"):
        judged = _judge_paths(rule, [*_path_words(rule, rest), *option_targets], cmd)
        if judged is None:
            return None
        verdict, targets, place = judged
    else:
        targets = [show(w) for w in _arg_targets(rule, parsed, rest)] + [
            show(v) for v in option_targets
        ]
        verdict = rule.fixed_verdict
    subcommand = " ".join(parsed.positionals[: len(rule.subcommand)])
    summary = rule.summary.format(
        targets=_list(targets), place=place, subcommand=subcommand or cmd.name
    )
    return Finding(
        operation=rule.operation,
        summary=summary,
        verdict=verdict,
        rule=rule.id,
        targets=tuple(targets),
        environment=environment(
            cmd, tool, rule, parsed.options, parsed.positionals, [*targets, *rest]
        ),
        reversible=rule.reversible,
        evidence=cmd.text,
    )


def _arg_targets(rule: Rule, parsed: Parsed, rest: tuple[str, ...]) -> tuple[str, ...]:
    """The arguments a rule is about: those its ``args_any`` matched, else all that remain.

    ``kubectl delete ns/prod`` names its target inside the subcommand word: the part after "/".
    """
    if rule.targets == "args_after":
        test = rule.args_any_test
        hits = [i for i, w in enumerate(rest) if test(w)]
        return rest[hits[0] + 1 :] if hits else rest
    if rule.targets != "args":
        return ()
    if ("--",) in rule.all_options and parsed.dashdash_at is not None:
        return parsed.positionals[max(parsed.dashdash_at, len(rule.subcommand)) :]
    if rule.args_any:
        return tuple(filter(rule.args_any_test, rest))
    if not rest and rule.subcommand:
        last = parsed.positionals[len(rule.subcommand) - 1]
        if "/" in last:
            return (last.split("/", 1)[1],)
    return rest


def _list(targets: list[str]) -> str:
    if not targets:
        return "(not named)"
    if len(targets) > 3:
        return ", ".join(targets[:3]) + f" and {len(targets) - 3} more"
    return ", ".join(targets)


def rule_findings(cmd: SimpleCommand, catalog: Source) -> list[Finding]:
    """The findings of the rules of every tool ``cmd`` names (launched programs aside)."""
    if not cmd.argv or is_dynamic(cmd.argv[0]):
        return []
    name = cmd.name
    findings: list[Finding] = []
    for tool in catalog.tools_for(name):
        parsed = parse_args(cmd.argv[1:], tool)
        primary = False
        first = parsed.positionals[0] if parsed.positionals else ""
        for rule in catalog.rules_for(tool.id, first):
            if rule.fallback and primary:
                continue
            rest = _rule_matches(rule, parsed, tool)
            if rest is None:
                continue
            finding = _finding(rule, tool, parsed, rest, cmd)
            if finding is not None:
                findings.append(finding)
                primary = primary or not rule.fallback
    return findings
