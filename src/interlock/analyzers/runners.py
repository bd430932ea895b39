"""Options and programs that run a command given to them as text.

A command that runs another command is judged by the inner one, recursively. Wrappers whose
command comes after their options are :mod:`.wrappers`; runners named by a subcommand
(``doppler run``, ``heroku run``) are launchers (``catalogs/launchers.toml``). This module holds
the rest, where the command hides in an option or a sub-language:

- :func:`embedded`: options of ordinary programs that run a command (``git -c
  core.sshCommand=…``, ``git rebase --exec``: :mod:`.runner_git`; ``tar --to-command``, ``vim -c '!…'``, sed's
  ``e``, ``rsync -e``, ``ssh -o ProxyCommand=…``, ``find -fprint``). Their findings are added
  to what the catalogs say about the program itself.
- :func:`handled`: programs whose whole job is running commands (tmux, screen, at, batch,
  crontab, ansible) or sending a query (sqlcmd, cqlsh, ``gh api graphql``).

Every command found goes back through the shell analyzer; what cannot be read is at least ask.
"""

from __future__ import annotations

from collections.abc import Callable

# runner_git and commands import this module too: their names are read at call time.
from interlock.analyzers import (
    DYN,
    Scope,
    SimpleCommand,
    commands,
    is_dynamic,
    runner_clients,
    runner_git,
    shell,
    show,
)
from interlock.decisions import Finding, Verdict

__all__ = ["embedded", "handled"]

Analyze = Callable[[SimpleCommand], list[Finding]]


def _script(cmd: SimpleCommand, text: str, scope: Scope | None = None) -> list[Finding]:
    where = scope or cmd.scope
    if is_dynamic(text) and not text.replace(DYN, "").strip():
        return [commands.opaque(cmd, f"{cmd.name} runs a command only known at run time")]
    return shell.analyze_nested(text.replace(DYN, "__unknown__"), where, where.cwd)


def _ask(cmd: SimpleCommand, operation: str, rule: str, summary: str) -> Finding:
    return Finding(
        operation=operation,
        summary=summary,
        verdict=Verdict.ASK,
        rule=rule,
        environment=cmd.scope.environment,
        evidence=cmd.text,
        floor=Verdict.ASK,
    )


def _value(args: tuple[str, ...], index: int, option: str) -> tuple[str | None, int]:
    """The value of ``args[index]`` if it is ``option`` (``--x=v``, ``--x v``), and the next index."""
    word = args[index]
    if word == option:
        return (args[index + 1] if index + 1 < len(args) else ""), index + 2
    if option.startswith("--") and word.startswith(option + "="):
        return word[len(option) + 1 :], index + 1
    return None, index + 1


# ----------------------------------------------------------------------------------- embedded


def embedded(cmd: SimpleCommand, analyze: Analyze) -> list[Finding]:
    """Findings for commands hidden in the options of ``cmd``'s program (:data:`EMBEDDING`)."""
    if cmd.name == "git":
        return runner_git.git(cmd, analyze)
    reader = _EMBEDDED.get(cmd.name)
    return [] if reader is None else reader(cmd)


_MOUNT_ASK = ("ROOT", "HOME", "SYSTEM", "CREDENTIAL", "DEVICE", "GUARD", "VAULT")


def _mounts(cmd: SimpleCommand) -> list[Finding]:
    """``docker run -v ~:/h``: the container gets the home folder (or /, /etc, ~/.ssh) to write."""
    from interlock.paths import describe, place_of

    args = cmd.argv[1:]
    words = [a for a in args if not a.startswith("-")]
    if not words or words[0] not in ("run", "create", "container"):
        return []
    sources: list[str] = []
    for index, word in enumerate(args):
        option, equals, value = word.partition("=")
        if option in ("-v", "--volume", "--mount") and not equals:
            value = args[index + 1] if index + 1 < len(args) else ""
        elif option not in ("-v", "--volume", "--mount"):
            continue
        if option == "--mount":
            fields = dict(f.partition("=")[::2] for f in value.split(","))
            source = fields.get("source") or fields.get("src") or ""
        else:
            source = value.split(":", 1)[0] if ":" in value else ""
        if source.startswith(("/", "~", ".")) or is_dynamic(source):
            sources.append(source)
    out: list[Finding] = []
    for source in sources:
        place = place_of(source, cmd.scope)
        if place.name not in _MOUNT_ASK:
            continue
        out.append(
            Finding(
                operation="container.host_mount",
                summary=f"starts a container that can change {describe(source, place)}",
                verdict=Verdict.ASK,
                rule="containers.host_mount",
                targets=(show(source),),
                environment=cmd.scope.environment,
                evidence=cmd.text,
            )
        )
    return out


# tar: --checkpoint-action=exec=CMD, --to-command, -I/--use-compress-program, -F/--info-script.
_TAR_COMMAND_LONG = ("--to-command", "--use-compress-program", "--info-script",
                     "--new-volume-script", "--rsh-command", "--checkpoint-action")  # fmt: skip
_TAR_SHORT_VALUES = "fCIFTXbgHKLNVs"


def _tar(cmd: SimpleCommand) -> list[Finding]:
    args = cmd.argv[1:]
    commands: list[str] = []
    index = 0
    if args and not args[0].startswith("-"):
        # Old style: `tar xIf zstd a.tar` -- each letter that takes a value takes the next word.
        letters, index = args[0], 1
        for letter in letters:
            if letter in _TAR_SHORT_VALUES and index < len(args):
                if letter in "IF":
                    commands.append(args[index])
                index += 1
    while index < len(args):
        word = args[index]
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            matches = [o for o in _TAR_COMMAND_LONG if o.startswith(name) and len(name) > 4]
            if matches and not equals:
                value, index = (args[index + 1] if index + 1 < len(args) else ""), index + 1
            if matches:
                if matches[0] == "--checkpoint-action":
                    if value.startswith("exec="):
                        commands.append(value[5:])
                else:
                    commands.append(value)
        elif word.startswith("-") and len(word) > 1:
            for position in range(1, len(word)):
                letter = word[position]
                if letter in _TAR_SHORT_VALUES:
                    value = word[position + 1 :]
                    if not value and index + 1 < len(args):
                        index += 1
                        value = args[index]
                    if letter in "IF":
                        commands.append(value)
                    break
        index += 1
    out: list[Finding] = []
    for command in commands:
        out += _script(cmd, command)
    return out


# vim and friends: -c CMD, --cmd CMD, +CMD run Ex commands; `!cmd` runs a shell command.
_VIMS = frozenset({"vim", "vi", "nvim", "view", "vimdiff", "gvim", "ex", "evim", "mvim", "gview"})


def _vim(cmd: SimpleCommand) -> list[Finding]:
    args = cmd.argv[1:]
    commands: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word in ("-c", "--cmd") and index + 1 < len(args):
            commands.append(args[index + 1])
            index += 2
            continue
        if word.startswith("+") and len(word) > 1 and not word[1:].isdigit() and word[1] != "/":
            commands.append(word[1:])
        index += 1
    out: list[Finding] = []
    for command in commands:
        out += _ex_command(cmd, command)
    return out


def _ex_command(cmd: SimpleCommand, command: str) -> list[Finding]:
    text = command.strip().lstrip(":").strip()
    for prefix in ("silent!", "silent", "sil!", "sil", "exe", "execute"):
        if text.startswith(prefix + " ") or text == prefix:
            return _ex_command(cmd, text[len(prefix) :])
    head = text.lstrip("0123456789.,%$ ")
    if head.startswith("!"):
        return _script(cmd, head[1:])
    word = head.split("!", 1)[0].strip()
    if "!" in head and word in ("r", "re", "rea", "read", "w", "wr", "wri", "writ", "write"):
        return _script(cmd, head.split("!", 1)[1])
    if any(k in head for k in ("system(", "systemlist(", "jobstart(", "termopen(")) or head.split(
        " ", 1
    )[0] in ("te", "ter", "term", "termi", "termin", "termina", "terminal", "py", "python",
             "py3", "python3", "pyx", "lua", "perl", "ruby", "rub", "tcl"):  # fmt: skip
        from interlock.analyzers.commands import opaque

        return [opaque(cmd, f"{cmd.name} runs code from an Ex command ({command})")]
    if "|" in head and not head.startswith(("normal", "norm")):
        out: list[Finding] = []
        for part in head.split("|"):
            out += _ex_command(cmd, part)
        return out
    return []


# sed: the `e` command runs a shell command; the `e` flag of `s` runs the pattern space.
def _sed(cmd: SimpleCommand) -> list[Finding]:
    args = cmd.argv[1:]
    scripts: list[str] = []
    sandbox, from_options = False, False
    positionals: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--sandbox":
            sandbox = True
        elif word in ("-e", "--expression") and index + 1 < len(args):
            scripts.append(args[index + 1])
            from_options = True
            index += 1
        elif word.startswith("--expression="):
            scripts.append(word.split("=", 1)[1])
            from_options = True
        elif word in ("-f", "--file", "-l", "--line-length"):
            from_options = from_options or word in ("-f", "--file")
            index += 1
        elif word.startswith("--file="):
            from_options = True
        elif word.startswith("-") and len(word) > 1 and not word.startswith("--"):
            if "e" in word[1:] and not word.startswith("-i"):
                at = word.index("e", 1)
                rest = word[at + 1 :]
                scripts.append(rest if rest else (args[index + 1] if index + 1 < len(args) else ""))
                from_options = True
                index += 0 if rest else 1
        elif not word.startswith("-") or word == "-":
            positionals.append(word)
        index += 1
    if not from_options and positionals:
        scripts.append(positionals[0])
    if sandbox:
        return []
    out: list[Finding] = []
    for script in scripts:
        for command in sed_commands(script):
            if command is None:
                from interlock.analyzers.commands import opaque

                out.append(opaque(cmd, "sed runs each line it edits as a shell command (e)"))
            else:
                out += _script(cmd, command)
    return out


def sed_commands(script: str) -> list[str | None]:
    """Shell commands a sed script runs: the text of ``e cmd``, None for ``e`` / ``s///e``."""
    found: list[str | None] = []
    i, n = 0, len(script)

    def line_end(at: int) -> int:
        end = script.find("\n", at)
        return n if end < 0 else end

    def skip_regex(at: int, delim: str) -> int:
        at += 1
        while at < n and script[at] != delim:
            at += 2 if script[at] == "\\" else 1
        return at + 1

    while i < n:
        c = script[i]
        if c in " \t\n;{}!":
            i += 1
            continue
        if c == "#":
            i = line_end(i)
            continue
        if c.isdigit() or c in "$,~+":
            i += 1
            continue
        if c == "/":
            i = skip_regex(i, "/")
            while i < n and script[i] in "IM":
                i += 1
            continue
        if c == "\\" and i + 1 < n:
            i = skip_regex(i + 1, script[i + 1])
            continue
        if c in "sy" and i + 1 < n:
            delim = script[i + 1]
            j = i + 1
            for _ in range(2):
                j = skip_regex(j, delim) - 1
            j += 1
            flags_start = j
            while j < n and script[j] not in ";\n}":
                if script[j] == "w":
                    j = line_end(j)
                    break
                j += 1
            if c == "s" and "e" in script[flags_start:j].split("w", 1)[0]:
                found.append(None)
            i = j
            continue
        if c in "aicrRwWbtT:":
            i = line_end(i) if c in "aicrRwW:" else _label_end(script, i + 1)
            continue
        if c == "e":
            end = line_end(i)
            text = script[i + 1 : end].strip()
            found.append(text or None)
            i = end
            continue
        i += 1
    return found


def _label_end(script: str, at: int) -> int:
    while at < len(script) and script[at] not in ";\n}":
        at += 1
    return at


def _rsync(cmd: SimpleCommand) -> list[Finding]:
    args = cmd.argv[1:]
    out: list[Finding] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word in ("-e", "--rsh") or word.startswith("--rsh="):
            value, index = _value(args, index, word.split("=", 1)[0])
            out += _script(cmd, value or "")
            continue
        if word.startswith("--rsync-path"):
            value, index = _value(args, index, "--rsync-path")
            remote = Scope(cmd.scope.policy, None, cmd.scope.environment, "rsync", cmd.scope.depth)
            out += _script(cmd, value or "", remote)
            continue
        if word.startswith("-") and not word.startswith("--") and "e" in word[1:]:
            rest = word[word.index("e", 1) + 1 :]
            if rest:
                out += _script(cmd, rest)
            elif index + 1 < len(args):
                out += _script(cmd, args[index + 1])
                index += 1
        index += 1
    return out


_SSH_LOCAL_KEYS = ("proxycommand", "localcommand", "knownhostscommand")


def _ssh_options(cmd: SimpleCommand) -> list[Finding]:
    """``-o ProxyCommand=…`` runs on this machine before any connection; so does scp's -S."""
    args = cmd.argv[1:]
    out: list[Finding] = []
    for index, word in enumerate(args):
        value: str | None = None
        if word == "-o" and index + 1 < len(args):
            value = args[index + 1]
        elif word.startswith("-o") and len(word) > 2:
            value = word[2:]
        elif word == "-S" and cmd.name in ("scp", "sftp") and index + 1 < len(args):
            out += _script(cmd, args[index + 1])
        if value is None:
            continue
        key, _, command = value.replace("=", " ", 1).partition(" ")
        if key.lower() in _SSH_LOCAL_KEYS and command.strip().lower() != "none":
            out += _script(cmd, command.replace("%h", "host").replace("%p", "22"))
    return out


_FIND_WRITES = ("-fprint", "-fprint0", "-fprintf", "-fls")


def _find_writes(cmd: SimpleCommand) -> list[Finding]:
    """``find -fprint FILE`` truncates FILE and writes the names there."""
    from interlock.paths import WRITE_VERDICT, describe, place_of

    args = cmd.argv[1:]
    out: list[Finding] = []
    for index, word in enumerate(args[:-1]):
        if word not in _FIND_WRITES:
            continue
        target = args[index + 1]
        place = place_of(target, cmd.scope)
        verdict = WRITE_VERDICT[place]
        if is_dynamic(target) and verdict is Verdict.ALLOW:
            verdict = Verdict.ASK
        if verdict is Verdict.ALLOW:
            continue
        out.append(
            Finding(
                operation="fs.overwrite",
                summary=f"overwrites {describe(target, place)} with find {word}",
                verdict=verdict,
                rule="find.fprint",
                targets=(show(target),),
                environment=cmd.scope.environment,
                reversible=False,
                evidence=cmd.text,
            )
        )
    return out


# ------------------------------------------------------------------------------------ handled


def handled(cmd: SimpleCommand, analyze: Analyze) -> list[Finding] | None:
    """Findings for programs that run or schedule commands, or None for any other program
    (always None for a name outside :data:`HANDLING`)."""
    if cmd.name == "screen":
        return _screen(cmd, analyze)
    runner = _HANDLED.get(cmd.name)
    return runner_clients.handled(cmd) if runner is None else runner(cmd)


_TMUX_VALUES = frozenset(
    ["-c", "-e", "-f", "-F", "-n", "-s", "-t", "-x", "-y", "-l", "-T", "-d", "-N", "-L", "-S"]
)
_TMUX_RUNNERS = frozenset({
    "new-session", "new", "new-window", "neww", "split-window", "splitw", "respawn-pane",
    "respawnp", "respawn-window", "respawnw", "display-popup", "popup", "run-shell", "run",
    "pipe-pane", "pipep", "if-shell", "if",
})  # fmt: skip
_TMUX_KEYS = {"Enter": "\n", "C-m": "\n", "C-j": "\n", "KPEnter": "\n", "Space": " ", "Tab": "\t"}


def _tmux(cmd: SimpleCommand) -> list[Finding]:
    args = list(cmd.argv[1:])
    out: list[Finding] = []
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "-c" and args:
            out += _script(cmd, args.pop(0))  # `tmux -c 'cmd'`: runs it like a login shell
        elif flag in ("-L", "-S", "-f", "-T") and args:
            args.pop(0)
    commands: list[list[str]] = [[]]
    for word in args:
        if word in (";", "\\;"):
            commands.append([])
        else:
            commands[-1].append(word[:-1] if word.endswith("\\;") else word)
    for words in commands:
        if not words:
            continue
        sub, rest = words[0], words[1:]
        if sub in ("send-keys", "send"):
            out += _send_keys(cmd, rest)
            continue
        if sub not in _TMUX_RUNNERS:
            continue
        positionals: list[str] = []
        index = 0
        popup = sub in ("display-popup", "popup")
        while index < len(rest):
            word = rest[index]
            if word.startswith("-") and len(word) > 1 and not positionals:
                takes = word in _TMUX_VALUES or (popup and word in ("-w", "-h"))
                if word == "-d":  # a delay for run-shell, a flag (detached) elsewhere
                    takes = sub in ("run-shell", "run")
                index += 2 if takes else 1
                continue
            positionals.append(word)
            index += 1
        if sub in ("if-shell", "if"):
            positionals = positionals[:1]
        if positionals:
            out += _script(cmd, " ".join(positionals))
    return out


def _send_keys(cmd: SimpleCommand, args: list[str]) -> list[Finding]:
    """``tmux send-keys 'rm -rf ~' Enter`` types a command into a shell and runs it."""
    typed: list[str] = []
    literal = False
    index = 0
    while index < len(args):
        word = args[index]
        if word.startswith("-") and len(word) > 1 and not typed:
            literal = literal or "l" in word
            index += 2 if word in ("-t", "-N") else 1
            continue
        typed.append(word if literal else _TMUX_KEYS.get(word, word))
        index += 1
    text = "".join(typed)
    return _script(cmd, text) if text.strip() else []


def _screen(cmd: SimpleCommand, analyze: Analyze) -> list[Finding]:
    args = cmd.argv[1:]
    index = 0
    while index < len(args):
        word = args[index]
        if word == "-X":
            rest = args[index + 1 :]
            if rest[:1] == ("stuff",) and len(rest) > 1:
                text = rest[1].replace("\\n", "\n").replace("\\r", "\n").replace("^M", "\n")
                return _script(cmd, text)
            if rest[:1] == ("exec",):
                rest = tuple(w for w in rest[1:] if not w.startswith(("!", ".", "|")))
                return (
                    analyze(SimpleCommand(argv=rest, text=cmd.text, scope=cmd.scope))
                    if rest
                    else []
                )
            return []
        if word in ("-ls", "-list", "-wipe", "-v", "--version", "--help"):
            return []
        if word.startswith("-") and len(word) > 1:
            cluster = word[1:]
            if any(c in cluster for c in "rRx") and "m" not in cluster:
                return []  # reattaching to a session runs nothing new
            takes = next((c for c in cluster if c in "cehpsStT"), None)
            if takes is not None and cluster.endswith(takes):
                index += 1
            index += 1
            continue
        break
    inner = args[index:]
    if not inner:
        return []
    return analyze(SimpleCommand(argv=inner, text=cmd.text, scope=cmd.scope, via=("screen",)))


def _at(cmd: SimpleCommand) -> list[Finding]:
    args = cmd.argv[1:]
    if any(a in ("-l", "-r", "-d", "-c", "-V") for a in args):
        return []
    out: list[Finding] = []
    if cmd.stdin is not None and not cmd.stdin_unknown and "-f" not in args:
        out += _script(cmd, cmd.stdin)
    out.append(
        _ask(cmd, "shell.deferred", "shell.at",
             f"schedules commands with {cmd.name}; they run later, unattended and unreviewed")
    )  # fmt: skip
    return out


def _crontab(cmd: SimpleCommand) -> list[Finding]:
    args = cmd.argv[1:]
    positionals: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word in ("-l", "-r", "-e", "-T", "-V", "--help", "--version"):
            return []
        if word in ("-u", "-n", "-s"):
            index += 2
            continue
        if word == "-" or not word.startswith("-"):
            positionals.append(word)
        index += 1
    if not positionals:
        if cmd.stdin is None and not cmd.stdin_unknown:
            return []  # `crontab` alone waits for input nobody gives it here
        positionals = ["-"]
    out: list[Finding] = []
    if positionals[0] == "-" and cmd.stdin is not None and not cmd.stdin_unknown:
        for line in cmd.stdin.splitlines():
            words = line.split()
            if not words or words[0].startswith("#") or "=" in words[0]:
                continue
            command = words[1:] if words[0].startswith("@") else words[5:]
            if command:
                out += _script(cmd, " ".join(command))
    out.append(
        _ask(cmd, "shell.deferred", "shell.crontab_install",
             "installs a crontab: every command in it will run on a schedule, unattended")
    )  # fmt: skip
    return out


_ANSIBLE_VALUES = frozenset(
    [
        "-a",
        "--args",
        "-m",
        "--module-name",
        "-i",
        "--inventory",
        "--inventory-file",
        "-u",
        "--user",
        "-e",
        "--extra-vars",
        "-l",
        "--limit",
        "-f",
        "--forks",
        "-B",
        "--background",
        "-P",
        "--poll",
        "-t",
        "--tree",
        "-M",
        "--module-path",
        "--become-user",
        "--become-method",
        "-c",
        "--connection",
        "-T",
        "--timeout",
        "--private-key",
        "--key-file",
        "--vault-id",
        "--vault-password-file",
        "--ssh-common-args",
        "--ssh-extra-args",
        "--scp-extra-args",
        "--sftp-extra-args",
        "-K",
    ]
)
_ANSIBLE_SHELL = frozenset({"command", "shell", "raw", "win_shell", "win_command"})


def _ansible(cmd: SimpleCommand) -> list[Finding]:
    from interlock.analyzers.catalog_match import env_name

    args = cmd.argv[1:]
    module, module_args, pattern, inventory = "command", None, "", ""
    index = 0
    while index < len(args):
        word = args[index]
        name, equals, attached = word.partition("=")
        if word.startswith("-") and name in _ANSIBLE_VALUES:
            value = attached if equals else (args[index + 1] if index + 1 < len(args) else "")
            if name in ("-m", "--module-name"):
                module = value
            elif name in ("-a", "--args"):
                module_args = value
            elif name in ("-i", "--inventory", "--inventory-file"):
                inventory = value
            index += 1 if equals else 2
            continue
        if not word.startswith("-") and not pattern:
            pattern = word
        index += 1
    if module_args is None:
        return []
    policy = cmd.scope.policy
    environment = env_name(pattern, policy) or env_name(inventory.rsplit("/", 1)[-1], policy)
    if environment is None:
        # Ad-hoc commands go to real servers: production unless the inventory says otherwise.
        environment = cmd.scope.environment or (policy.production[0] if policy.production else None)
    remote = Scope(policy, None, environment, pattern or "ansible", cmd.scope.depth)
    short = module.rsplit(".", 1)[-1]
    if short in _ANSIBLE_SHELL:
        words = [w for w in module_args.split(" ") if w]
        while words and "=" in words[0] and words[0].split("=", 1)[0] in (
            "chdir", "creates", "removes", "executable", "warn", "stdin",
        ):  # fmt: skip
            words.pop(0)
        return _script(cmd, " ".join(words), remote)
    if "state=absent" in module_args.replace(" = ", "="):
        return [
            Finding(
                operation="cloud.delete",
                summary=f"removes what ansible's {module} module manages on {pattern or 'hosts'}",
                verdict=Verdict.ASK,
                rule="ansible.state_absent",
                targets=(show(module_args),),
                environment=environment,
                evidence=cmd.text,
            )
        ]
    return []


# The dispatch tables, after the readers they name. The name sets let a caller skip the call for
# the many programs that are none of these (issue #2 item 9: a call per check per command).
_EMBEDDED: dict[str, Callable[[SimpleCommand], list[Finding]]] = {
    **dict.fromkeys(("tar", "gtar", "bsdtar"), _tar),
    **dict.fromkeys(_VIMS, _vim),
    **dict.fromkeys(("sed", "gsed"), _sed),
    "rsync": _rsync,
    **dict.fromkeys(("ssh", "scp", "sftp"), _ssh_options),
    "find": _find_writes,
    **dict.fromkeys(("docker", "podman", "nerdctl"), _mounts),
}
EMBEDDING = frozenset({"git", *_EMBEDDED})
"""The programs :func:`embedded` reads; it finds nothing in any other."""

_HANDLED: dict[str, Callable[[SimpleCommand], list[Finding]]] = {
    "tmux": _tmux,
    "at": _at,
    "batch": _at,
    "crontab": _crontab,
    "ansible": _ansible,
}
HANDLING = frozenset({"screen", *_HANDLED, *runner_clients.HANDLING})
"""The programs :func:`handled` may answer for; it returns None for any other."""
