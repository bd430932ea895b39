"""One simple command: unwrap wrappers, follow what it hands to another program, ask the catalogs.

Order, for ``sudo -u pg env FOO=1 bash -c 'psql -c "DROP TABLE t"'``:

1. The command name must be known: ``$x -rf /`` is ``ask`` (CCSN allowed it, peers.md §d).
2. Wrappers are removed recursively (:mod:`.wrappers`), remembering them in ``via``.
3. Programs that run other code get that code analyzed as what it is: shells (``-c``, stdin),
   ``eval``, ``source /dev/stdin``, interpreter one-liners, ``find -exec``/``-delete``,
   ``xargs``/``parallel``, ``ssh host '…'``, database clients (SQL) and HTTP clients (requests).
4. Everything else is matched against the catalogs of destructive operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from interlock.analyzers import (
    DYN,
    SimpleCommand,
    catalog,
    clients,
    find,
    is_dynamic,
    prompts,
    runners,
    shell,
    show,
    tools,
    unknown,
)
from interlock.analyzers import wrappers as wrap
from interlock.decisions import Finding
from interlock.frozen import replace

SHELLS = frozenset({
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash", "busybox", "tcsh", "csh", "nu",
    "xonsh", "elvish", "yash", "posh", "oksh", "loksh", "rbash", "hush",
})  # fmt: skip
INTERPRETERS = {
    "python": "python", "node": "node", "nodejs": "node", "perl": "perl", "ruby": "ruby",
    "php": "php", "deno": "deno", "bun": "node", "ipython": "python", "pypy": "python",
    "py": "python", "tsx": "node", "ts-node": "node", "esno": "node", "lua": "lua",
    "luajit": "lua", "Rscript": "r", "osascript": "applescript", "pwsh": "powershell",
    "powershell": "powershell", "powershell.exe": "powershell", "pwsh.exe": "powershell",
}  # fmt: skip


@dataclass(frozen=True)
class _Flags:
    """How one interpreter's command line names its code (``python -Ic CODE``)."""

    code: str = ""
    """Short options whose value is code (``c``: ``-c CODE``, ``-Ic CODE``)."""
    attached: bool = True
    """Code may follow in the same word (``-c'print(1)'``); node reads ``-pe`` as two flags."""
    values: str = ""
    """Short options taking a value, attached or the next word (``-W ignore``)."""
    attached_only: str = ""
    """Short options whose value, if any, is the rest of the word (perl ``-i.bak``)."""
    long_code: tuple[str, ...] = ()
    long_values: tuple[str, ...] = ()
    first_only: bool = True
    """Only the first code option counts (python stops reading options at ``-c``)."""


FLAGS = {
    "python": _Flags("c", values="WXQ", long_values=("--check-hash-based-pycs",)),
    "node": _Flags("ep", attached=False, values="rC", long_code=("--eval", "--print"),
                   long_values=("--require", "--import", "--loader", "--experimental-loader",
                                "--conditions", "--input-type", "--inspect-port", "--title",
                                "--env-file", "--tsconfig")),
    "perl": _Flags("eE", attached_only="ilIMmdDx0C", first_only=False),
    "ruby": _Flags("e", values="rICE", attached_only="xF0iTWK", first_only=False),
    "php": _Flags("r", values="cdfzt"),
    "lua": _Flags("e", values="l", first_only=False),
    "r": _Flags("e", attached=False, first_only=False),
    "applescript": _Flags("e", attached=False, values="ls", first_only=False),
    "deno": _Flags(),
}  # fmt: skip
STDIN_NAMES = ("/dev/stdin", "/proc/self/fd/0", "/dev/fd/0", "-")


def analyze_command(cmd: SimpleCommand) -> list[Finding]:
    argv = cmd.argv
    if not argv:
        return []
    if cmd.scope.depth > 8:
        return [shell.unparsed(cmd.text, "wrappers nested too deep")]
    # `INTERLOCK_CONFIG=/tmp/x.toml cmd` moves the guard: ask. An unwrapped command carries its
    # wrappers' assignments too; those were judged once, by the outermost command or _follow.
    guard = _guard_variables(cmd.assignments, cmd) if cmd.assignments and not cmd.via else []
    if DYN in argv[0]:
        return [*guard, _dynamic_name(cmd)]
    # Each module below answers only for the names it lists (prompts.PROMPTED, runners.EMBEDDING,
    # clients.NAMES, ...): most commands are none of them, and asking each cost a call.
    name = cmd.name
    # `yes | terraform apply` is `terraform apply -auto-approve`: the input answers the prompt.
    if name in prompts.PROMPTED:
        answered = prompts.answered(cmd)
        if answered is not None:
            return guard + prompts.explain(analyze_command(answered))
    # Options that run a command (`git -c core.sshCommand=…`, `ssh -o ProxyCommand=…`) are
    # judged on top of whatever the program itself does.
    if name in runners.EMBEDDING:
        guard = guard + runners.embedded(cmd, analyze_command)
    found = _analyze(cmd)
    return guard + found if guard else found


def _analyze(cmd: SimpleCommand) -> list[Finding]:
    name = cmd.name
    if cmd.scripts:
        written = _written_script(cmd, cmd.argv[0])
        if written is not None:
            return shell.analyze_nested(written, cmd.scope, cmd.scope.cwd)
    if name in ("alias", "trap"):
        return _deferred_code(cmd)
    if name in wrap.SPECS:
        unwrapped = wrap.unwrap(cmd)
        if unwrapped is not None:
            return _follow(unwrapped, cmd)
    base = _program(name)
    if base in SHELLS or name in ("eval", "source", "."):
        return _shell(cmd)
    if base in INTERPRETERS:
        return _interpreter(cmd, INTERPRETERS[base])
    if name in ("awk", "gawk", "mawk", "nawk", "busybox-awk"):
        return _awk(cmd)
    if name == "find":
        return find.analyze(cmd, analyze_command)
    if name in clients.NAMES:
        handled = clients.analyze(cmd)
        if handled is not None:
            return handled
    if name in runners.HANDLING:
        ran = runners.handled(cmd, analyze_command)
        if ran is not None:
            return ran + catalog.match(cmd)  # `crontab -r` is still the catalog's
    return catalog.match(cmd) + _unknown_program(cmd)


# Programs that print, search or store their arguments: a `--` or `-e` of theirs is data.
_DATA_PROGRAMS = frozenset(
    [
        "echo",
        "printf",
        "grep",
        "egrep",
        "fgrep",
        "rg",
        "ag",
        "ack",
        "jq",
        "yq",
        "cat",
        "less",
        "more",
        "head",
        "tail",
        "wc",
        "sort",
        "uniq",
        "cut",
        "tr",
        "tee",
        "touch",
        "mkdir",
        "ls",
        "stat",
        "file",
        "diff",
        "cmp",
        "comm",
        "test",
        "[",
        "true",
        "false",
        "printenv",
        "export",
        "set",
        "declare",
        "local",
        "readonly",
        "man",
        "info",
        "help",
        "which",
        "whereis",
        "type",
        "column",
        "fmt",
        "fold",
        "nl",
        "paste",
        "join",
        "rev",
        "strings",
        "od",
        "hexdump",
        "xxd",
        "base64",
        "md5sum",
        "sha1sum",
        "sha256sum",
        "cksum",
        "date",
        "sleep",
        "seq",
        "yes",
        "logger",
        "notify-send",
        "say",
        "wall",
        "read",
        "mapfile",
        "getopts",
        "shift",
        "return",
        "exit",
        "cd",
        "pushd",
        "popd",
        "pwd",
        "basename",
        "dirname",
        "realpath",
        "readlink",
        "sed",
        "gsed",
        "awk",
        "gawk",
    ]
)
_CODE_OPTIONS = ("-c", "-e", "--command", "--exec", "--eval", "--cmd", "--run")


def _unknown_program(cmd: SimpleCommand) -> list[Finding]:
    """A program no catalog knows that is handed a command: judge that command.

    ``frobnicate -- rm -rf ~`` and ``frobnicate --exec 'rm -rf ~'`` may well run it. Only real
    findings count: an unreadable or dynamic value here is more likely data than code.
    """
    name = cmd.name
    if name in _DATA_PROGRAMS or not cmd.argv[1:]:
        return []
    if catalog.hot().knows(name):
        return []
    args = cmd.argv[1:]
    found: list[Finding] = []
    if "--" in args:
        inner = args[args.index("--") + 1 :]
        if inner and not inner[0].startswith("-"):
            nested = replace(
                cmd,
                argv=inner,
                via=(*cmd.via, name),
                scope=replace(cmd.scope, depth=cmd.scope.depth + 1),
            )
            found += analyze_command(nested)
    for index, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if option not in _CODE_OPTIONS or (not equals and index + 1 >= len(args)):
            continue
        text = value if equals else args[index + 1]
        if not is_dynamic(text) and " " in text.strip():
            found += shell.analyze_nested(text, cmd.scope, cmd.scope.cwd)
    unreadable = ("shell.unparsed", "shell.dynamic_command", "shell.opaque_code")
    return [f for f in found if f.rule not in unreadable]


def _written_script(cmd: SimpleCommand, word: str) -> str | None:
    """The content of a file written earlier in the same string (``echo … > x.sh; sh x.sh``)."""
    if not cmd.scripts or is_dynamic(word):
        return None
    from interlock.paths import resolve

    return dict(cmd.scripts).get(resolve(word, cmd.scope))


def _deferred_code(cmd: SimpleCommand) -> list[Finding]:
    """``alias x='…'`` and ``trap '…' EXIT`` hold code that runs later: judge it now."""
    args = cmd.argv[1:]
    if cmd.name == "alias":
        bodies = [a.split("=", 1)[1] for a in args if "=" in a]
    else:
        bodies = list(args[:1]) if args and args[0] not in ("-l", "-p", "--", "-") else []
    findings: list[Finding] = []
    for body in bodies:
        if is_dynamic(body):
            findings.append(opaque(cmd, f"{cmd.name} stores code only known at run time"))
        else:
            findings.extend(shell.analyze_nested(body, cmd.scope, cmd.scope.cwd, cmd.variables))
    return findings


def _program(name: str) -> str:
    """``python3.11`` -> ``python``; ``bash`` -> ``bash``."""
    stripped = name.rstrip("0123456789.")
    return stripped if stripped in INTERPRETERS else name


def _guard_variables(assignments: tuple[tuple[str, str], ...], cmd: SimpleCommand) -> list[Finding]:
    return [f for name, _ in assignments for f in tools.guard_variable(name, cmd.scope, cmd.text)]


def _follow(result: wrap.Unwrapped, outer: SimpleCommand) -> list[Finding]:
    guard = _guard_variables(result.assignments, outer)  # `env INTERLOCK_CONFIG=… cmd`
    if result.script is not None:
        scope = result.scope or outer.scope
        return guard + shell.analyze_nested(result.script, scope, scope.cwd)
    if not result.argv:
        return guard
    argv = _collapse_repeats(result.argv)
    inner = replace(
        outer,
        argv=argv,
        assignments=outer.assignments + result.assignments,
        via=(*outer.via, outer.name),
        scope=result.scope or outer.scope,
        stdin=None if result.stdin_unknown else outer.stdin,
        stdin_unknown=result.stdin_unknown or outer.stdin_unknown,
    )
    if len(inner.via) > shell.MAX_NESTING:  # `sudo ` 5,000 times overflowed the stack (red-team)
        return [
            shell.unparsed(outer.text, f"more than {shell.MAX_NESTING} wrappers around one command")
        ]
    return guard + analyze_command(inner)


# Wrappers for which `X X cmd` runs what `X cmd` runs: no positional of their own to misread.
_REPEATABLE = frozenset({
    "sudo", "doas", "run0", "pkexec", "env", "command", "builtin", "exec", "nohup", "nice",
    "ionice", "time", "setsid", "fakeroot", "eatmydata", "unbuffer",
})  # fmt: skip


def _collapse_repeats(argv: tuple[str, ...]) -> tuple[str, ...]:
    """``sudo sudo … sudo rm -rf /`` (5,000 times) is ``sudo rm -rf /``: a loop drops the
    repeats, where unwrapping them one by one ran out of wrapper levels and only asked."""
    first = argv[0] if argv else ""
    if first not in _REPEATABLE:
        return argv
    run = 1
    while run < len(argv) and argv[run] == first:
        run += 1
    return argv[run - 1 :]


def _dynamic_name(cmd: SimpleCommand) -> Finding:
    return unknown(
        f"runs a program whose name is only known at run time (`{show(cmd.argv[0])}`)",
        rule="shell.dynamic_command",
        operation="shell.dynamic_command",
        evidence=cmd.text,
    )


def opaque(cmd: SimpleCommand, what: str) -> Finding:
    """Code is run that cannot be inspected: at least ask, never allow."""
    return unknown(
        what, rule="shell.opaque_code", environment=cmd.scope.environment, evidence=cmd.text
    )


def _stdin_code(cmd: SimpleCommand, language: str) -> list[Finding] | None:
    """Code read from standard input: analyzed when literal, ask when not."""
    if cmd.stdin is not None and not cmd.stdin_unknown:
        if language == "shell":
            return shell.analyze_nested(cmd.stdin, cmd.scope, cmd.scope.cwd)
        return _code(cmd, language, cmd.stdin)
    if cmd.stdin_unknown:
        return [
            opaque(
                cmd,
                f"pipes content that cannot be inspected (a download, decoded data or a file) "
                f"into {cmd.name}, which runs it",
            )
        ]
    return None


def _shell(cmd: SimpleCommand) -> list[Finding]:
    args = list(cmd.argv[1:])
    name = cmd.name
    if name == "busybox" and args and args[0] in SHELLS:
        args = args[1:]
    if name == "eval":
        if any(is_dynamic(a) for a in args):
            if _shell_init(cmd):
                return []
            return [opaque(cmd, "evaluates a string that is only known at run time")]
        return shell.analyze_nested(" ".join(args), cmd.scope, cmd.scope.cwd, cmd.variables)
    if name in ("source", "."):
        if not args:
            return []
        target = args[0]
        if target in STDIN_NAMES or is_dynamic(target):
            found = _stdin_code(cmd, "shell")
            if found is not None and target in STDIN_NAMES:
                return found
            return [opaque(cmd, f"sources code that cannot be inspected ({show(target)})")]
        return []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            if index + 1 < len(args) and args[index + 1] == "--":
                index += 1  # `bash -c -- 'cmd'`: `--` ends the options, the command follows
            if index + 1 >= len(args):
                return [opaque(cmd, "runs a shell with -c but no command")]
            script = args[index + 1]
            if is_dynamic(script) and script.strip(DYN + " ") == "":
                return [opaque(cmd, "runs a shell command that is only known at run time")]
            return shell.analyze_nested(
                script.replace(DYN, "__unknown__"), cmd.scope, cmd.scope.cwd
            )
        if arg in ("-o", "-O", "+o", "+O", "--rcfile", "--init-file"):
            index += 2
            continue
        if arg.startswith(("-", "+")) and arg not in ("-", "-s"):
            index += 1
            continue
        break
    rest = args[index:]
    if not rest or rest[0] in ("-", "-s", *STDIN_NAMES):
        found = _stdin_code(cmd, "shell")
        return found or []
    if is_dynamic(rest[0]):
        return [
            opaque(cmd, f"runs a script whose path is only known at run time ({show(rest[0])})")
        ]
    written = _written_script(cmd, rest[0])
    if written is not None:
        return shell.analyze_nested(written, cmd.scope, cmd.scope.cwd)
    # A script file from the project: its content is not inspected here; hooks are not the
    # boundary (ARCHITECTURE.md), the gateways are.
    return []


# `eval "$(tool init bash)"`: tools that print shell setup for the user's rc file. Their output
# is the tool's own (PATH, completions, agent sockets); asking for each is a false positive
# every agent session hits. Program base name -> accepted first arguments.
_SHELL_INIT: dict[str, frozenset[str]] = {
    "direnv": frozenset({"hook"}), "ssh-agent": frozenset({"", "-s", "-c"}),
    "pyenv": frozenset({"init", "virtualenv-init"}), "rbenv": frozenset({"init"}),
    "nodenv": frozenset({"init"}), "goenv": frozenset({"init"}), "jenv": frozenset({"init"}),
    "plenv": frozenset({"init"}), "starship": frozenset({"init"}), "zoxide": frozenset({"init"}),
    "fnm": frozenset({"env"}), "mise": frozenset({"activate", "env"}),
    "rtx": frozenset({"activate"}), "conda": frozenset({"shell.bash", "shell.zsh", "shell.fish"}),
    "brew": frozenset({"shellenv"}), "opam": frozenset({"env"}), "atuin": frozenset({"init"}),
    "thefuck": frozenset({"--alias"}), "dircolors": frozenset({"", "-b", "-c"}),
    "keychain": frozenset({"--eval"}), "luarocks": frozenset({"path"}),
    "path_helper": frozenset({"-s"}), "register-python-argcomplete": frozenset(),
    "kubectl": frozenset({"completion"}), "gh": frozenset({"completion"}),
    "rustup": frozenset({"completions"}), "pipenv": frozenset({"--completion"}),
}  # fmt: skip


def _shell_init(cmd: SimpleCommand) -> bool:
    """``eval "$(direnv hook bash)"``: one substitution of a known shell-setup printer."""
    data = cmd.text.encode("utf-8", "surrogateescape")
    root = shell._parse(data).root_node
    if root.has_error or root.named_child_count != 1 or root.named_children[0].type != "command":
        return False
    arguments = root.named_children[0].children_by_field_name("argument")
    if len(arguments) != 1:
        return False
    node = arguments[0]
    if node.type == "string":
        parts = [c for c in node.named_children]
        if len(parts) != 1:
            return False
        node = parts[0]
    if node.type != "command_substitution" or node.named_child_count != 1:
        return False
    inner = node.named_children[0]
    if inner.type != "command":
        return False
    words: list[str] = []
    for child in inner.named_children:
        if child.type == "command_name":
            child = child.named_children[0] if child.named_child_count == 1 else child
        if child.type not in ("word", "raw_string"):
            return False
        text = data[child.start_byte : child.end_byte].decode("utf-8", "surrogateescape")
        words.append(text.strip("'"))
    program = words[0].rsplit("/", 1)[-1]
    accepted = _SHELL_INIT.get(program)
    if accepted is None:
        return False
    first = words[1] if len(words) > 1 else ""
    return not accepted or first in accepted


def _interpreter(cmd: SimpleCommand, language: str) -> list[Finding]:
    args = list(cmd.argv[1:])
    if language == "deno":
        if len(args) >= 2 and args[0] == "eval":
            return _code(cmd, language, args[1])
        return []
    if language == "powershell":
        return _powershell(cmd)
    flags = FLAGS[language]
    codes: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--" or arg == "-" or not arg.startswith("-"):
            if codes:
                break
            if arg == "--":
                continue
            if arg == "-":
                return _stdin_code(cmd, language) or []
            written = _written_script(cmd, arg)
            if written is not None:
                return _code(cmd, language, written)
            # A script or module (manage.py flush, artisan migrate:fresh): the catalogs know
            # the destructive ones.
            return catalog.match(cmd)
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if name in flags.long_code or name in flags.long_values:
                if not equals:
                    value = args[index] if index < len(args) else ""
                    index += 1
                if name in flags.long_code:
                    codes.append(value)
            if codes and flags.first_only:
                break
            continue
        if language == "python" and arg == "-m":
            return catalog.match(cmd)
        for position in range(1, len(arg)):
            letter, rest = arg[position], arg[position + 1 :]
            if letter in flags.code:
                if rest and flags.attached:
                    codes.append(rest)
                else:
                    codes.append(args[index] if index < len(args) else "")
                    index += 1
                break
            if letter in flags.values:
                index += 0 if rest else 1
                break
            if letter in flags.attached_only:
                break
        if codes and flags.first_only:
            break
    if codes:
        return _code(cmd, language, "\n".join(codes))
    found = _stdin_code(cmd, language)
    return found or []


_PS_COMMAND = ("-command", "-c")
_PS_ENCODED = ("-encodedcommand", "-enc", "-e", "-ec")
_PS_VALUES = ("-executionpolicy", "-ep", "-ex", "-workingdirectory", "-wd", "-outputformat",
              "-of", "-o", "-inputformat", "-if", "-windowstyle", "-w", "-version", "-v",
              "-configurationname", "-psconsolefile", "-settingsfile", "-custompipename",
              "-ssh", "-configurationfile")  # fmt: skip


def _powershell(cmd: SimpleCommand) -> list[Finding]:
    """``pwsh -Command …`` (any unique prefix, any case), ``-EncodedCommand`` (base64 UTF-16)."""
    args = list(cmd.argv[1:])
    for index, arg in enumerate(args):
        lowered = arg.lower()
        if not lowered.startswith("-"):
            if cmd.name.startswith("pwsh") or lowered.endswith(".ps1"):
                return []  # a script file, as `bash script.sh`
            return _code(cmd, "powershell", " ".join(args[index:]))
        if lowered in _PS_ENCODED or (len(lowered) > 3 and "-encodedcommand".startswith(lowered)):
            import base64
            import binascii

            try:
                code = base64.b64decode(args[index + 1]).decode("utf-16-le")
            except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
                return [opaque(cmd, "runs encoded PowerShell that does not decode")]
            hidden = opaque(cmd, "runs PowerShell hidden in base64 (-EncodedCommand)")
            return [hidden, *_code(cmd, "powershell", code)]
        if lowered in _PS_COMMAND or (len(lowered) > 2 and "-command".startswith(lowered)):
            rest = args[index + 1 :]
            if rest == ["-"]:
                return _stdin_code(cmd, "powershell") or []
            return _code(cmd, "powershell", " ".join(rest)) if rest else []
        if lowered in ("-file", "-f"):
            return []
        if lowered in _PS_VALUES:
            args[index + 1 : index + 2] = ["-"] * min(1, len(args) - index - 1)
    return _stdin_code(cmd, "powershell") or []


_AWK_SYSTEM = re.compile(r"""\bsystem\s*\(\s*(?:"((?:[^"\\]|\\.)*)"|([^)]*))\)""")
_AWK_PIPE = re.compile(r"""\|\s*(?:&\s*)?"((?:[^"\\]|\\.)*)"|"((?:[^"\\]|\\.)*)"\s*\|\s*getline""")


def _awk(cmd: SimpleCommand) -> list[Finding]:
    """awk runs shell commands through ``system("…")`` and ``print | "cmd"``."""
    program = next((a for a in cmd.argv[1:] if not a.startswith("-")), "")
    findings: list[Finding] = []
    for match in _AWK_SYSTEM.finditer(program):
        literal, other = match.group(1), match.group(2)
        if literal is not None:
            findings.extend(shell.analyze_nested(literal, cmd.scope, cmd.scope.cwd))
        elif other is not None:
            findings.append(opaque(cmd, "awk runs a shell command built at run time"))
    for match in _AWK_PIPE.finditer(program):
        literal = (match.group(1) if match.group(1) is not None else match.group(2)) or ""
        words = literal.split()
        if words and (words[0] in SHELLS or _program(words[0]) in INTERPRETERS):
            findings.append(opaque(cmd, f"awk pipes text it builds into {words[0]}, which runs it"))
        else:
            findings.extend(shell.analyze_nested(literal, cmd.scope, cmd.scope.cwd))
    return findings


def _code(cmd: SimpleCommand, language: str, code: str) -> list[Finding]:
    """Findings for an interpreter one-liner, from the effects :mod:`.interpreters` reports."""
    if is_dynamic(code) and not code.replace(DYN, "").strip():
        return [opaque(cmd, f"runs {language} code that is only known at run time")]
    from interlock.analyzers import effects

    return effects.findings(cmd, language, code.replace(DYN, "__unknown__"), analyze_command)
