"""git's options and configuration that run a command: ``-c core.sshCommand=…``, ``rebase --exec``.

Split from :mod:`.runners` (it had passed 800 lines; STYLE.md §1), which calls :func:`git` for
every ``git`` command. Configuration keys whose value git runs as a command (git-config(1)),
given with ``-c``, through ``GIT_*`` variables or stored with ``git config``, and the
subcommands that take a command (``rebase --exec``, ``submodule foreach``, ``bisect run``,
``filter-branch``, ``--upload-pack``) each go back through the shell analyzer; what cannot be
seen (``--config-env``, ``GIT_CONFIG_PARAMETERS``) is ask.
"""

from __future__ import annotations

# runners imports this module too: its names are read at call time, not import time.
from interlock.analyzers import SimpleCommand, runners, show
from interlock.analyzers.catalog_model import glob_any
from interlock.decisions import Finding

__all__ = ["git"]

# git: configuration keys whose value is a command git runs (git-config(1)).
_GIT_COMMAND_KEYS = (
    "core.sshcommand", "core.pager", "core.editor", "core.askpass", "core.fsmonitor",
    "core.gitproxy", "sequence.editor", "gpg.program", "diff.external",
    "credential.helper", "interactive.difffilter", "uploadpack.packobjectshook",
    "pager.*", "gpg.*.program", "diff.*.textconv", "diff.*.command", "filter.*.clean",
    "filter.*.smudge", "filter.*.process", "merge.*.driver", "mergetool.*.cmd",
    "difftool.*.cmd", "remote.*.receivepack", "remote.*.uploadpack", "browser.*.cmd",
    "man.*.cmd", "sendemail.sendmailcmd", "sendemail.tocmd", "sendemail.cccmd",
)  # fmt: skip
# Keys that make git load code or configuration from elsewhere: ask whatever the value.
_GIT_ASK_KEYS = ("core.hookspath", "include.path", "includeif.*.path", "core.worktree")
_GIT_PROTOCOL_KEYS = ("protocol.allow", "protocol.ext.allow")
_GIT_ENV = (
    "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER",
    "GIT_ASKPASS", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND", "SSH_ASKPASS",
)  # fmt: skip
_BOOLEANS = frozenset({"", "true", "false", "yes", "no", "on", "off", "1", "0"})
_GIT_GLOBAL_VALUES = (
    "-C", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--list-cmds",
    "--attr-source",
)  # fmt: skip


def git(cmd: SimpleCommand, analyze: runners.Analyze) -> list[Finding]:
    args = cmd.argv[1:]
    out: list[Finding] = []
    for key, value in cmd.assignments:
        if key in _GIT_ENV and value.strip():
            out += runners._script(cmd, value)
        elif key == "GIT_CONFIG_PARAMETERS" or key.startswith("GIT_CONFIG_KEY_"):
            out.append(
                runners._ask(cmd, "git.config_command", "git.config_env",
                     f"sets git configuration through {key}, which may name a command to run")
            )  # fmt: skip
    configs: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "-c":
            configs.append(args[index + 1] if index + 1 < len(args) else "")
            index += 2
        elif word.startswith("--config-env"):
            key = (word.split("=", 1)[1] if "=" in word else "").split("=", 1)[0]
            if glob_any(key.lower(), _GIT_COMMAND_KEYS + _GIT_ASK_KEYS) or key.lower().startswith(
                "alias."
            ):
                out.append(
                    runners._ask(cmd, "git.config_command", "git.config_env",
                         f"sets git's {key} from an environment variable: a command not shown")
                )  # fmt: skip
            index += 1
        elif word.startswith("--exec-path="):
            out.append(
                runners._ask(cmd, "git.config_command", "git.exec_path",
                     "makes git run its subcommands from another folder")
            )  # fmt: skip
            index += 1
        elif word in _GIT_GLOBAL_VALUES:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            break
    for pair in configs:
        key, _, value = pair.partition("=")
        out += _git_config(cmd, key, value, planted=False)
    sub, rest = (args[index], args[index + 1 :]) if index < len(args) else ("", ())
    if sub == "rebase":
        out += _option_scripts(cmd, rest, ("-x", "--exec"))
    elif sub == "submodule" and rest[:1] == ("foreach",):
        words = [w for w in rest[1:] if w not in ("--recursive", "-q", "--quiet")]
        if words:
            out += runners._script(cmd, " ".join(words))
    elif sub == "bisect" and rest[:1] == ("run",) and len(rest) > 1:
        out += analyze(SimpleCommand(argv=rest[1:], text=cmd.text, scope=cmd.scope, via=("git",)))
    elif sub == "difftool":
        out += _option_scripts(cmd, rest, ("-x", "--extcmd"))
    elif sub in ("clone", "fetch", "pull", "ls-remote", "archive"):
        out += _option_scripts(cmd, rest, ("-u", "--upload-pack", "--exec"))
    elif sub == "push":
        out += _option_scripts(cmd, rest, ("--receive-pack", "--exec"))
    elif sub == "filter-branch":
        filters = ("--tree-filter", "--index-filter", "--msg-filter", "--env-filter",
                   "--commit-filter", "--parent-filter", "--tag-name-filter")  # fmt: skip
        out += _option_scripts(cmd, rest, filters)
    elif sub == "config":
        out += _git_config_command(cmd, rest)
    return out


def _option_scripts(
    cmd: SimpleCommand, args: tuple[str, ...], options: tuple[str, ...]
) -> list[Finding]:
    out: list[Finding] = []
    index = 0
    while index < len(args):
        for option in options:
            value, after = runners._value(args, index, option)
            if value is not None:
                out += runners._script(cmd, value)
                index = after
                break
        else:
            index += 1
    return out


def _git_config(cmd: SimpleCommand, key: str, value: str, planted: bool) -> list[Finding]:
    """One ``key=value`` of git configuration, given with ``-c`` or stored by ``git config``."""
    lowered = key.lower()
    how = "stores" if planted else "sets"
    if glob_any(lowered, _GIT_ASK_KEYS):
        return [
            runners._ask(cmd, "git.config_command", "git.config_hooks",
                 f"{how} git's {key} to {show(value)}: git loads hooks or configuration from there")
        ]  # fmt: skip
    if glob_any(lowered, _GIT_PROTOCOL_KEYS) and value.lower() == "always":
        return [
            runners._ask(cmd, "git.config_command", "git.config_protocol",
                 f"{how} {key}=always: an ext:: remote URL runs any command")
        ]  # fmt: skip
    command: str | None = None
    if lowered.startswith("alias."):
        # `!cmd` runs a shell command; anything else is git arguments.
        command = value[1:] if value.startswith("!") else "git " + value
    elif glob_any(lowered, _GIT_COMMAND_KEYS) and value.strip().lower() not in _BOOLEANS:
        command = value[1:] if lowered == "credential.helper" and value.startswith("!") else value
        if lowered == "credential.helper" and not value.startswith(("!", "/")):
            command = None  # `store`, `cache`, `osxkeychain`: git's own helpers
    if command is None:
        return []
    out = runners._script(cmd, command)
    if planted and (not lowered.startswith("alias.") or value.startswith("!")):
        out.append(
            runners._ask(cmd, "git.config_command", "git.config_plant",
                 f"stores a command in git's {key} ({show(value)}); git runs it later, unseen")
        )  # fmt: skip
    return out


_GIT_CONFIG_VALUES = ("-f", "--file", "--blob", "--type", "--default", "--comment", "--value")
_GIT_CONFIG_READS = frozenset({
    "--get", "--get-all", "--get-regexp", "--get-urlmatch", "--list", "-l", "--unset",
    "--unset-all", "--remove-section", "--rename-section", "--edit", "-e", "--show-origin",
    "--show-scope", "--name-only", "get", "list", "unset", "remove-section", "rename-section",
    "edit",
})  # fmt: skip


def _git_config_command(cmd: SimpleCommand, args: tuple[str, ...]) -> list[Finding]:
    """``git config alias.x '!cmd'`` plants a command: ask, and judge the command."""
    positionals: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word in _GIT_CONFIG_READS:
            return []
        if word in _GIT_CONFIG_VALUES:
            index += 2
            continue
        if not word.startswith("-"):
            positionals.append(word)
        index += 1
    if positionals[:1] == ["set"]:
        positionals = positionals[1:]
    if len(positionals) < 2:
        return []
    return _git_config(cmd, positionals[0], positionals[1], planted=True)
