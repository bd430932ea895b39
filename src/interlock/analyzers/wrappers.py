"""Wrappers: programs that run another program given in their arguments.

Each is data: which options take a value (so the wrapped program's name is found), and what the
wrapper does with the rest. Claude Code's own rules were bypassed by any wrapper outside an
eight-item list (claude-code#92542); this list is long on purpose, and unknown options of a known
wrapper never hide the command after them.
"""

from __future__ import annotations

from dataclasses import dataclass

from interlock.analyzers import DYN, Scope, SimpleCommand
from interlock.frozen import replace


@dataclass(frozen=True)
class Unwrapped:
    argv: tuple[str, ...] = ()
    script: str | None = None
    """A whole shell string to analyze (``watch 'cmd'``, ``ssh host 'cmd'``, ``su -c 'cmd'``)."""
    assignments: tuple[tuple[str, str], ...] = ()
    stdin_unknown: bool = False
    """The wrapped program's arguments or input come from elsewhere (``xargs``)."""
    scope: Scope | None = None


@dataclass(frozen=True)
class Spec:
    value_options: frozenset[str] = frozenset()
    """Options that take a value as the next argument (or attached: ``-uroot``)."""
    positional_skip: int = 0
    """Positionals before the wrapped command (``timeout DURATION cmd``)."""
    assignments: bool = False
    """``NAME=value`` words before the command are environment (``env``, ``sudo``)."""
    pairs: frozenset[str] = frozenset()
    """Options that take two values (``bwrap --bind SRC DEST``)."""
    no_skip_after: frozenset[str] = frozenset()
    """Options that replace the skipped positional (``taskset -c 0 cmd`` has no mask word)."""


def _spec(
    options: str = "",
    skip: int = 0,
    assignments: bool = False,
    pairs: str = "",
    no_skip_after: str = "",
) -> Spec:
    return Spec(
        frozenset(options.split()),
        skip,
        assignments,
        frozenset(pairs.split()),
        frozenset(no_skip_after.split()),
    )


SPECS: dict[str, Spec] = {
    "sudo": _spec("-u --user -g --group -h --host -p --prompt -C --close-from -D --chdir "
                  "-r --role -t --type -U --other-user -T --command-timeout", assignments=True),
    "doas": _spec("-u -C"),
    "env": _spec("-u --unset -C --chdir -S --split-string", assignments=True),
    "command": _spec(),
    "builtin": _spec(),
    "exec": _spec("-a"),
    "nohup": _spec(),
    "nice": _spec("-n --adjustment"),
    "ionice": _spec("-c --class -n --classdata -p --pid -P --pgid -u --uid"),
    "timeout": _spec("-s --signal -k --kill-after", skip=1),
    "time": _spec("-f --format -o --output"),
    "stdbuf": _spec("-i --input -o --output -e --error"),
    "chrt": _spec("-p", skip=1),
    "taskset": _spec("", skip=1, no_skip_after="-c --cpu-list"),
    "unbuffer": _spec(),
    "setsid": _spec(),
    "flock": _spec("-w --timeout -E --conflict-exit-code", skip=1),
    "caffeinate": _spec(),
    "chroot": _spec("--userspec --groups", skip=1),
    "strace": _spec("-e -o -p -s -u"),
    "ltrace": _spec("-e -o -p -s -u"),
    "valgrind": _spec(),
    "firejail": _spec(),
    "proxychains": _spec("-f"),
    "torsocks": _spec(),
    "xargs": _spec("-I -i -n --max-args -P --max-procs -L --max-lines -d --delimiter -E -e "
                   "-s --max-chars -a --arg-file --process-slot-var"),
    "parallel": _spec("-j --jobs -S --sshlogin --joblog -a --arg-file --delay --timeout "
                      "--results -n -N --colsep"),
    "watch": _spec("-n --interval -d --differences -g -q --chgexit -x"),
    "su": _spec("-c --command -s --shell -g --group -G"),
    "ssh": _spec("-p -i -l -o -F -J -L -R -D -b -c -E -e -I -m -O -Q -S -W -w -B"),
    "script": _spec("-c --command -E --echo -I -O -T --log-timing"),
    "runuser": _spec("-u --user -g --group -c --command"),
    "npx": _spec("-p --package -c --call"),
    "uvx": _spec("--from --with -p --python"),
    # Namespaces, sandboxes, privilege and service managers: each runs the command after its
    # options (red-team 2025: every one of these walked past a list of eight).
    "nsenter": _spec("-t --target -S --setuid -G --setgid -Z"),
    "systemd-run": _spec("-u --unit -p --property --description --slice -E --setenv -M "
                         "--machine -H --host --uid --gid --nice --working-directory "
                         "--on-active --on-boot --on-startup --on-unit-active "
                         "--on-unit-inactive --on-calendar --on-clock-change --timer-property "
                         "--path-property --socket-property --service-type --json"),
    "unshare": _spec("-R --root -w --wd -S --setuid -G --setgid --map-user --map-group "
                     "--map-users --map-groups --propagation --setgroups"),
    "pkexec": _spec("-u --user"),
    "run0": _spec("-u --user -g --group --unit --property --description --slice --nice "
                  "-D --chdir --setenv --background --machine"),
    "fakeroot": _spec("-l --lib --faked -s -i -b"),
    "bwrap": _spec("--args --userns --userns2 --pidns --uid --gid --hostname --chdir "
                   "--unsetenv --lock-file --sync-fd --remount-ro --exec-label --file-label "
                   "--proc --dev --tmpfs --mqueue --dir --seccomp --add-seccomp-fd "
                   "--block-fd --userns-block-fd --info-fd --json-status-fd --cap-add "
                   "--cap-drop --perms --size --chmod --argv0",
                   pairs="--setenv --bind --bind-try --dev-bind --dev-bind-try --ro-bind "
                         "--ro-bind-try --file --bind-data --ro-bind-data --symlink --bind-fd "
                         "--ro-bind-fd --overlay-src --tmp-overlay --ro-overlay"),
    "setpriv": _spec("--reuid --regid --ruid --euid --rgid --egid --groups --inh-caps "
                     "--ambient-caps --bounding-set --securebits --selinux-label "
                     "--apparmor-profile --pdeathsig --landlock-access --landlock-rule "
                     "--seccomp-filter"),
    "coproc": _spec(),
    "busybox": _spec(),
    "cross-env": _spec(assignments=True),
    "cross-env-shell": _spec(assignments=True),
    "envdir": _spec(skip=1),
    "envchain": _spec(skip=1),
    "catchsegv": _spec(),
    "eatmydata": _spec(),
    "faketime": _spec("-f", skip=1),
    "numactl": _spec("-i --interleave -N --cpunodebind -C --physcpubind -m --membind "
                     "-p --preferred -l"),
    "prlimit": _spec("-p --pid -o --output"),
    "cgexec": _spec("-g"),
    "sg": _spec(skip=1),
    "newgrp": _spec(),
}  # fmt: skip

# Options after which a wrapper reads no command (``command -v rm`` only prints a path).
QUERY_ONLY = {"command": ("-v", "-V"), "time": (), "timeout": ("--help", "--version")}


def unwrap(cmd: SimpleCommand) -> Unwrapped | None:
    """The command a wrapper runs, or None when ``cmd`` is not a wrapper."""
    name = cmd.name
    spec = SPECS.get(name)
    if spec is None:
        return None
    args = list(cmd.argv[1:])
    if name == "command" and any(a in QUERY_ONLY["command"] for a in args[:1]):
        return Unwrapped()
    if name in ("ssh", "su", "runuser", "script", "watch"):
        return _string_runner(name, args, spec, cmd)
    if name == "coproc" and "{" in args[:2]:
        args = args[args.index("{") + 1 :]  # `coproc NAME { cmd; }`: the body is the command
    if name == "sg" and len(args) >= 2 and args[1] in ("-c", "--command"):
        return Unwrapped(script=" ".join(args[2:3]))
    assignments: list[tuple[str, str]] = []
    positionals_skipped = 0
    index = 0
    replace_token: str | None = "{}" if name in ("xargs", "parallel") else None
    shell_after_sudo = False
    scope = cmd.scope
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if arg.startswith("-") and len(arg) > 1 and positionals_skipped == 0:
            option, _, attached = arg.partition("=")
            if name == "env" and option in ("-S", "--split-string"):
                value = attached or (args[index + 1] if index + 1 < len(args) else "")
                return Unwrapped(script=value + " " + " ".join(args[index + 2 :]))
            if name == "sudo" and option in ("-s", "--shell", "-i", "--login"):
                shell_after_sudo = True
            if name in ("env", "sudo") and option in ("-C", "--chdir", "-D"):
                target = attached or (args[index + 1] if index + 1 < len(args) else DYN)
                from interlock.paths import resolve

                path = resolve(target, scope)
                scope = replace(scope, cwd=None if DYN in path else path)
            if name == "xargs" and option in ("-I", "-i"):
                replace_token = attached or (
                    args[index + 1] if option == "-I" and index + 1 < len(args) else "{}"
                )
            takes_value = option in spec.value_options or (
                len(option) > 2 and not option.startswith("--") and option[:2] in spec.value_options
            )
            if option in spec.no_skip_after:
                positionals_skipped = spec.positional_skip  # `taskset -c 0 cmd`: no mask word
                index += 1 if attached else 2
                continue
            if option in spec.pairs:
                index += 3 if not attached else 2
            elif takes_value and not attached and option in spec.value_options:
                index += 2
            else:
                index += 1
            continue
        if spec.assignments and "=" in arg and arg.split("=", 1)[0].isidentifier():
            key, _, value = arg.partition("=")
            assignments.append((key, value))
            index += 1
            continue
        if positionals_skipped < spec.positional_skip:
            positionals_skipped += 1
            index += 1
            if name == "flock" and index < len(args) and args[index] in ("-c", "--command"):
                # `flock /tmp/l -c 'cmd'`: the command is a shell string after the lock file.
                script = args[index + 1] if index + 1 < len(args) else ""
                return Unwrapped(script=script, scope=scope)
            continue
        break
    inner = tuple(args[index:])
    if shell_after_sudo and inner:
        return Unwrapped(script=" ".join(inner), assignments=tuple(assignments), scope=scope)
    if name in ("xargs", "parallel"):
        return _feeder(name, inner, replace_token, scope)
    if name == "npx" or name == "uvx":
        return Unwrapped(argv=inner, scope=scope)
    return Unwrapped(argv=inner, assignments=tuple(assignments), scope=scope)


def _feeder(name: str, inner: tuple[str, ...], token: str | None, scope: Scope) -> Unwrapped:
    """``xargs``/``parallel``: the arguments come from input nobody can see here."""
    values: tuple[str, ...] = ()
    if name == "parallel" and ":::" in inner:
        cut = inner.index(":::")
        inner, values = inner[:cut], tuple(v for v in inner[cut + 1 :] if v not in (":::", "::::"))
    if not inner:
        inner = ("echo",)
    if values and not (token and any(token in a for a in inner)):
        # `parallel rm -rf ::: ~ /etc` runs `rm -rf ~` and `rm -rf /etc`: judge them together.
        return Unwrapped(argv=(*inner, *values), scope=scope)
    if token and any(token in a for a in inner):
        argv = tuple(a.replace(token, DYN) for a in inner)
    else:
        argv = (*inner, DYN)
    return Unwrapped(argv=argv, stdin_unknown=True, scope=scope)


def _string_runner(name: str, args: list[str], spec: Spec, cmd: SimpleCommand) -> Unwrapped:
    """Wrappers whose command is a shell string: ssh, su -c, runuser -c, script -c, watch."""
    positionals: list[str] = []
    command: str | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        cluster = arg.startswith("-") and not arg.startswith("--") and arg.endswith("c")
        if (arg == "--command" or cluster) and name in ("su", "runuser", "script"):
            command = args[index + 1] if index + 1 < len(args) else ""
            index += 2
            continue
        if arg.startswith("-") and len(arg) > 1 and not positionals:
            if arg in spec.value_options:
                index += 2
            else:
                index += 1
            continue
        positionals.append(arg)
        index += 1
    if name == "ssh":
        if positionals[1:2] == ["--"]:
            del positionals[1]  # `ssh host -- cmd`
        if len(positionals) < 2:
            return Unwrapped()  # an interactive login: nothing to judge
        host = positionals[0].rsplit("@", 1)[-1]
        environment = cmd.scope.policy.environment_of(host) or cmd.scope.environment
        remote = replace(cmd.scope, cwd=None, remote=host, environment=environment)
        return Unwrapped(script=" ".join(positionals[1:]), scope=remote)
    if name == "watch":
        return Unwrapped(script=" ".join(positionals))
    return Unwrapped(script=command) if command is not None else Unwrapped()
