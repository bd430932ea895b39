"""Red-team findings on path judgments: each miss next to the everyday command it resembles.

1. The agent's own guard (agent settings holding the hook, interlock.toml, .interlock/, the
   hook's Python) may not be written, moved or deleted, by shell or by file tool.
2. ``>>`` into system files, credential stores and devices is as bad as ``>``.
3. Credential reads by ``<``, /proc/*/environ, ``kubectl config view --raw``, ``grep -ri``.
4.–7. Regenerable places stop asking: home caches, more build folders, /tmp globs, git locks.
8. Reasons never call a file a folder.
"""

from __future__ import annotations

import posixpath
import sys

import pytest

from interlock.actions import ToolCallAction
from interlock.analyzers import Scope, tools
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.engine import decide
from interlock.paths import APPEND_VERDICT, DELETE_VERDICT, WRITE_VERDICT, Place, place_of
from tests.conftest import HOME, PROJECT, shell

POLICY = Policy(project_root=PROJECT, home=HOME)
SCOPE = Scope(policy=POLICY, cwd=PROJECT, environment=None)


def tool(operation: str, path: str, name: str = "Write") -> Verdict:
    action = ToolCallAction(tool=name, operation=operation, path=path, cwd=PROJECT)  # type: ignore[arg-type]
    return decide(action, POLICY).verdict


# -- 1. self-protection ---------------------------------------------------------------------

GUARD_FILES = [
    ".claude/settings.json",
    ".claude/settings.local.json",
    "~/.claude/settings.json",
    ".cursor/hooks.json",
    "~/.cursor/hooks.json",
    ".codex/config.toml",
    ".codex/hooks.json",
    "~/.codex/config.toml",
    ".gemini/settings.json",
    "~/.gemini/settings.json",
    "interlock.toml",
    ".interlock/audit.jsonl",
    ".interlock/init.json",
]


@pytest.mark.parametrize("path", GUARD_FILES)
def test_guard_files_are_guard(path: str) -> None:
    assert place_of(path, SCOPE) is Place.GUARD
    assert WRITE_VERDICT[Place.GUARD] is DELETE_VERDICT[Place.GUARD] is Verdict.DENY


@pytest.mark.parametrize(
    "command",
    [
        "echo {} > .claude/settings.json",
        "printf '{}' >| .claude/settings.local.json",
        "rm -rf .interlock",
        "rm .interlock/audit.jsonl",
        "rm -rf .claude .cursor",
        "rm -rf ~/.codex",
        "rm interlock.toml",
        "rm -f *.toml",
        "rm -rf .c*",
        "sed -i '/PreToolUse/d' .claude/settings.json",
        "sed -i 's/deny/allow/' interlock.toml",
        "mv .claude/settings.json /tmp/x",
        "mv /tmp/empty.json .claude/settings.json",
        "mv .interlock .interlock.old",
        "cp /dev/null .claude/settings.json",
        "cp /dev/null ~/.gemini/settings.json",
        "truncate -s0 .cursor/hooks.json",
        "truncate -s 0 .interlock/audit.jsonl",
        "tee .codex/hooks.json < /dev/null",
        "ln -sf /dev/null .codex/config.toml",
        'rm -rf "$X"/.claude/settings.json',
        'rm -rf .interlock/"$X"',
        "cd sub && rm ../interlock.toml",
        "python3 -c \"open('.claude/settings.json', 'w').write('{}')\"",
    ],
)
def test_agent_may_not_touch_its_guard_by_shell(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.DENY, (command, decision.reasons)


@pytest.mark.parametrize(
    "command",
    [
        "cat .claude/settings.json",
        "jq .hooks .claude/settings.json",
        "sed -n 1,20p .claude/settings.json",
        "cp .claude/settings.json /tmp/settings.bak",
        "diff interlock.toml /tmp/interlock.toml",
        "mkdir -p .claude/commands",
        "echo '# review' > .claude/commands/review.md",
        "sed -i 's/a/b/' .claude/commands/review.md",
        "tail -n 20 .interlock/audit.jsonl",
        "rm -f .claude/commands/old.md",
        "rm *",  # every top-level file, but not what `rm -rf *` is: left to the project's place
    ],
)
def test_reading_the_guard_and_editing_agent_commands_stay_allowed(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ALLOW, (command, decision.reasons)


def test_a_sub_folder_of_agent_settings_is_project_work_to_delete() -> None:
    # .claude/agents holds hand-written agent definitions: the usual ask, not the guard's deny.
    assert shell("rm -rf .claude/agents").verdict is Verdict.ASK


@pytest.mark.parametrize(
    "path", [p if p.startswith("~") else f"{PROJECT}/{p}" for p in GUARD_FILES]
)
def test_file_tools_may_read_but_not_write_the_guard(path: str) -> None:
    path = path.replace("~", HOME, 1)
    assert tool("write", path) is Verdict.DENY
    assert tool("write", path, name="Edit") is Verdict.DENY
    assert tool("read", path, name="Read") is Verdict.ALLOW


def test_file_tools_write_agent_commands_and_other_settings_files() -> None:
    assert tool("write", f"{PROJECT}/.claude/commands/review.md") is Verdict.ALLOW
    assert tool("write", f"{PROJECT}/src/settings.json") is Verdict.ALLOW
    assert tool("write", f"{PROJECT}/docs/interlock.md") is Verdict.ALLOW


def test_a_project_inside_a_folder_named_interlock_is_not_all_guard() -> None:
    # `interlock demo` puts its project in .interlock/demo-project.
    demo = "/home/dev/app/.interlock/demo-project"
    scope = Scope(policy=Policy(project_root=demo, home=HOME), cwd=demo, environment=None)
    assert place_of("src/app.py", scope) is Place.PROJECT_SOURCE
    assert place_of("interlock.toml", scope) is Place.GUARD


in_venv = pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtualenv")


@in_venv
def test_the_hooks_interpreter_and_its_venv_are_guard() -> None:
    venv = posixpath.normpath(sys.prefix)
    project = posixpath.dirname(venv)
    name = posixpath.basename(venv)
    policy = Policy(project_root=project, home=HOME)
    scope = Scope(policy=policy, cwd=project, environment=None)
    assert place_of(sys.executable, scope) is Place.GUARD
    assert place_of(name, scope) is Place.GUARD
    assert place_of(f"{name}/bin", scope) is Place.GUARD

    def run(command: str) -> Verdict:
        from interlock.actions import ShellAction

        return decide(ShellAction(command=command, cwd=project), policy).verdict

    assert run(f"rm -rf {name}") is Verdict.DENY
    assert run(f"ln -sf /bin/true {sys.executable}") is Verdict.DENY
    assert run(f"echo '#!/bin/sh' > {sys.executable}") is Verdict.DENY
    # Look-alikes: another build folder, and files in the venv that do not run the hook.
    assert run("rm -rf build") is Verdict.ALLOW
    assert run(f"echo x > {name}/notes.txt") is Verdict.ALLOW
    assert run(f"{sys.executable} -m pytest -q") is Verdict.ALLOW


def test_guard_variables_ask_and_others_do_not() -> None:
    for name in ("INTERLOCK_CONFIG", "INTERLOCK_AUDIT_LOG", "INTERLOCK_ENV", "INTERLOCK_X"):
        (found,) = tools.guard_variable(name, SCOPE, f"export {name}=x")
        assert (found.verdict, found.operation) == (Verdict.ASK, "agent.guard_env")
    for name in ("NODE_ENV", "INTERLOCKED", "MY_INTERLOCK_CONFIG"):
        assert tools.guard_variable(name, SCOPE, "x") == []


@pytest.mark.parametrize(
    "command",
    [
        "export INTERLOCK_CONFIG=/tmp/permissive.toml",
        "INTERLOCK_DAEMON=0 claude -p x",
        "INTERLOCK_AUDIT_LOG=/dev/null",
        "env INTERLOCK_CONFIG=/tmp/x.toml npm test",
    ],
)
def test_interlock_variables_ask(command: str) -> None:
    assert shell(command).verdict is Verdict.ASK


def test_other_variables_stay_allowed() -> None:
    for command in ("export NODE_ENV=test", "DEBUG=1 npm test", "FOO=1"):
        assert shell(command).verdict is Verdict.ALLOW, command


# -- 2. appending redirections ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "word", "verdict"),
    [
        (">>", "/etc/passwd", Verdict.DENY),
        (">>", "/etc/sudoers", Verdict.DENY),
        ("&>>", "/etc/sudoers.d/agent", Verdict.DENY),
        (">>", "~/.ssh/authorized_keys", Verdict.DENY),
        (">>", "/dev/sda", Verdict.DENY),
        ("&>>", "/dev/nvme0n1", Verdict.DENY),
        (">>", ".claude/settings.json", Verdict.DENY),
        (">>", "~/.bashrc", Verdict.ASK),
        (">>", "/data/app.log", Verdict.ASK),
        (">", "/etc/passwd", Verdict.DENY),
        (">|", "interlock.toml", Verdict.DENY),
        ("<>", "/etc/hosts", Verdict.DENY),
    ],
)
def test_redirect_writes_are_judged_by_place(operator: str, word: str, verdict: Verdict) -> None:
    found = tools.redirect(operator, word, SCOPE, f"echo x {operator} {word}")
    assert found and max(f.verdict.rank for f in found) == verdict.rank, found


@pytest.mark.parametrize(
    ("operator", "word"),
    [
        (">>", ".gitignore"),
        (">>", "build.log"),
        ("&>>", "/tmp/ci.log"),
        (">>", "/dev/null"),
        (">", "out.txt"),
        (">&", "2"),
        (">&", "-"),
        ("<&", "0"),
        ("<", "input.txt"),
        ("<", "~/.ssh/id_rsa.pub"),
    ],
)
def test_everyday_redirects_find_nothing(operator: str, word: str) -> None:
    assert tools.redirect(operator, word, SCOPE, "x") == []


def test_append_is_milder_than_truncate_only_outside_the_project() -> None:
    differs = {p for p in Place if APPEND_VERDICT[p] is not WRITE_VERDICT[p]}
    assert differs == {Place.OUTSIDE}


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("echo 'x::0:0::/:/bin/sh' >> /etc/passwd", Verdict.DENY),
        ("echo 'agent ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers", Verdict.DENY),
        ("cat key.pub >> ~/.ssh/authorized_keys", Verdict.DENY),
        ("cat image.bin &>> /dev/sda", Verdict.DENY),
        ("cat < ~/.aws/credentials", Verdict.ASK),
        ("base64 < ~/.ssh/id_ed25519", Verdict.ASK),
    ],
)
def test_shell_redirects_use_the_same_judgment(command: str, verdict: Verdict) -> None:
    assert shell(command).verdict is verdict


# -- 3. credential reads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word", ["~/.aws/credentials", "~/.ssh/id_rsa", ".env", "/proc/self/environ"]
)
def test_input_redirect_from_a_credential_asks(word: str) -> None:
    found = tools.redirect("<", word, SCOPE, f"cat < {word}")
    assert [(f.verdict, f.operation) for f in found] == [(Verdict.ASK, "secret.read")]


@pytest.mark.parametrize(
    "command",
    [
        "cat /proc/self/environ",
        "strings /proc/1/environ",
        "cat /proc/4242/task/4242/environ",
        "kubectl config view --raw",
        "kubectl config view --minify --flatten",
        "grep -ri railway_token .",
        "grep -rin db_password ~",
        "rg -i stripe_secret_key",
    ],
)
def test_credential_reads_ask(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ASK, (command, decision.reasons)


@pytest.mark.parametrize(
    "command",
    [
        "cat /proc/self/status",
        "cat /proc/cpuinfo",
        "kubectl config view",
        "kubectl config view --minify",
        "grep -ri password src",
        "grep -ri tokenize src",
        "grep -i railway_token notes.md",
        "rg -i usestate src",
    ],
)
def test_look_alike_reads_stay_allowed(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ALLOW, (command, decision.reasons)


def test_file_tool_read_of_a_process_environment_asks() -> None:
    assert tool("read", "/proc/self/environ", name="Read") is Verdict.ASK
    assert tool("read", "/proc/self/status", name="Read") is Verdict.ALLOW


# -- 4. home caches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf ~/.cache/pip",
        "rm -rf ~/.cache",
        "rm -rf ~/.cache/*",
        "rm -rf ~/.npm/_cacache",
        "rm -rf ~/.cargo/registry/cache",
        "rm -rf ~/.gradle/caches",
        "rm -rf ~/Library/Caches/com.apple.dt.Xcode",
        "rm -rf ~/Library/Developer/Xcode/DerivedData",
        "rm -rf $HOME/.m2/repository/org/example",
        "rm -rf /home/dev/.pnpm-store",
    ],
)
def test_deleting_a_home_cache_is_allowed(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ALLOW, (command, decision.reasons)


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf ~",
        "rm -rf ~/.ssh",
        "rm -rf ~/.config",
        "rm -rf ~/.npm",
        "rm -rf ~/.cargo",
        "rm -rf ~/.gradle",
        "rm -rf ~/Library",
        "rm -rf ~/.ca*",
        "rm -rf ~/.cache/../.ssh",
        "rm -f ~/.cache/huggingface/token",
    ],
)
def test_home_look_alikes_stay_denied(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.DENY, (command, decision.reasons)


# -- 5. regenerable project folders -------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf vendor/bundle",
        "rm -rf .terraform",
        "rm -rf bin obj",
        "rm -rf Pods cdk.out .serverless .aws-sam",
        "rm -rf test-results playwright-report",
        "rm -rf deps _build",
        "rm -rf .next .nuxt coverage .tox .mypy_cache",
        "rm -rf **/node_modules",
        "rm -rf packages/*/dist",
        "rm -rf src/*/__pycache__",
        "find . -name node_modules -prune -exec rm -rf {} +",
        "find . -name '*.pyc' -delete",
    ],
)
def test_regenerable_project_folders_are_allowed(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ALLOW, (command, decision.reasons)


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("rm -rf vendor", Verdict.ASK),
        ("rm terraform.tfstate", Verdict.ASK),
        ("rm -rf terraform.tfstate terraform.tfstate.backup", Verdict.ASK),
        ("rm -rf terraform.tfstate.d", Verdict.ASK),
        ("rm -f *.tfstate", Verdict.ASK),
        ("rm -rf .terraform/terraform.tfstate", Verdict.ASK),
        ("echo '{}' > terraform.tfstate", Verdict.ASK),
        ("rm -rf **/src", Verdict.DENY),
        ("rm -rf */", Verdict.DENY),
        ("find . ! -name '*.pyc' -delete", Verdict.ASK),
        ("find . -not -name node_modules -delete", Verdict.ASK),
        ("find . -name '*.pyc' -o -type f -delete", Verdict.ASK),
        ("find . -name audit.jsonl -path '*/.interlock/*' -delete", Verdict.ASK),
    ],
)
def test_project_look_alikes_keep_their_verdict(command: str, verdict: Verdict) -> None:
    decision = shell(command)
    assert decision.verdict is verdict, (command, decision.reasons)


def test_terraform_state_is_never_generated() -> None:
    assert place_of(".terraform/terraform.tfstate", SCOPE) is Place.STATE
    assert place_of(".terraform/providers", SCOPE) is Place.PROJECT_GENERATED
    assert tool("write", f"{PROJECT}/terraform.tfstate") is Verdict.ASK


# -- 6. /tmp -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf /tmp/*.log",
        "rm -f /tmp/build-*",
        "rm -rf /var/tmp/pytest-of-dev/*",
        "find /tmp -name '*.log' -delete",
        "find /tmp -maxdepth 1 -name 'pytest-*' -delete",
    ],
)
def test_named_scratch_files_in_tmp_are_allowed(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ALLOW, (command, decision.reasons)


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf /tmp",
        "rm -rf /tmp/*",
        "rm -rf /tmp/.*",
        "find /tmp -delete",
        "find /tmp -name '*' -delete",
        "find /tmp ! -name '*.log' -delete",
        "find /var/log -name '*.log' -delete",
    ],
)
def test_tmp_itself_stays_denied(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.DENY, (command, decision.reasons)


# -- 7. git lock files --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["rm -rf .git/index.lock", "rm -f .git/*.lock", "rm -f .git/refs/heads/main.lock"],
)
def test_stale_git_locks_may_be_removed(command: str) -> None:
    decision = shell(command)
    assert decision.verdict is Verdict.ALLOW, (command, decision.reasons)


@pytest.mark.parametrize("command", ["rm -rf .git", "rm -rf .git/*", "rm -rf .git/objects"])
def test_the_repository_itself_still_asks(command: str) -> None:
    assert shell(command).verdict is Verdict.ASK


# -- 8. wording ------------------------------------------------------------------------------


def test_no_place_calls_a_file_a_folder() -> None:
    # Whether a path is a folder is not known without the disk: every place reads right for both.
    assert not [p for p in Place if "folder" in p.value]


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("rm /etc/hosts", "deletes system files (/etc/hosts)"),
        ("rm -rf /var/lib/postgresql", "recursively deletes system files (/var/lib/postgresql)"),
        ("rm ~/notes.txt", "deletes files outside the project (~/notes.txt)"),
        ("rm -f ~/.ssh/id_rsa", "deletes credentials (~/.ssh/id_rsa)"),
    ],
)
def test_reasons_read_right_for_files_and_folders(command: str, words: str) -> None:
    message = shell(command).reasons[0].message
    assert message.startswith(words), message
    assert "folder" not in message
