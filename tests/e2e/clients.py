"""The three agent CLIs, each run for real against the scripted model (docs/e2e.md).

A :class:`Sandbox` is a temporary project and HOME with the Interlock hook installed by
``interlock.installer.install`` (what ``interlock init`` does). A :class:`Client` knows how to
start its CLI offline, which tools its model calls, and where the tool results come back in
the next request. :func:`run` starts one session through ``session.py``, inside a private
network namespace when ``unshare -n`` works (loopback only), and returns what happened.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock import installer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PINS = HERE / "clients.txt"
SESSION_TIMEOUT_S = 120.0
"""A hung client (Gemini hangs on a JSON ask in -p) fails its test instead of the whole run."""

TIMINGS: list[tuple[str, float]] = []
"""(test id, seconds) of every client session, printed in the pytest summary."""

Call = tuple[str, dict[str, Any]]


def pins() -> dict[str, tuple[str, str, str]]:
    """name -> (npm package, version, bin) from clients.txt (also read by the Makefile)."""
    out = {}
    for line in PINS.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, package, version, binary = line.split()
            out[name] = (package, version, binary)
    return out


def cache_dir() -> Path:
    return Path(os.environ.get("INTERLOCK_E2E_DIR") or REPO / ".cache" / "e2e")


def binary(name: str) -> Path | None:
    _package, version, binary_name = pins()[name]
    path = cache_dir() / f"{name}-{version}" / "node_modules" / ".bin" / binary_name
    return path if path.exists() else None


@functools.cache
def netns_available() -> bool:
    """Whether ``unshare -n`` works here (root, or user namespaces allowed)."""
    if os.environ.get("INTERLOCK_E2E_NETNS") == "0" or not shutil.which("unshare"):
        return False
    try:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@dataclass
class ToolResult:
    name: str
    arguments: dict[str, Any]
    text: str
    is_error: bool


@dataclass
class Session:
    rc: int
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    requests: list[dict[str, Any]]
    results: list[ToolResult] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"rc={self.rc} timed_out={self.timed_out}\n--- stdout\n{self.stdout[-3000:]}\n"
            f"--- stderr\n{self.stderr[-3000:]}\n--- results\n{self.results}"
        )


@dataclass
class Sandbox:
    root: Path
    project: Path
    home: Path

    @classmethod
    def make(cls, root: Path) -> Sandbox:
        project, home = root / "project", root / "home"
        project.mkdir(parents=True)
        home.mkdir()
        return cls(root, project, home)

    def victim(self, name: str = "victim") -> Path:
        folder = self.project / name
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "notes.txt").write_text("keep me\n", "utf-8")
        return folder

    def credentials(self) -> tuple[Path, str]:
        path = self.home / ".aws" / "credentials"
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = "e2e-not-a-real-key-4f2a9c"
        path.write_text(f"[default]\naws_secret_access_key = {secret}\n", "utf-8")
        return path, secret

    def audit(self) -> list[dict[str, Any]]:
        path = self.project / ".interlock" / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


class Client:
    name: str
    modes: tuple[str, ...]
    rm = "rm -rf"
    """Codex refuses any ``rm -f…`` itself, hook or not, so its scenarios use ``rm -r``."""

    def install_hook(self, box: Sandbox) -> None:
        raise NotImplementedError

    def shell(self, command: str) -> Call:
        raise NotImplementedError

    def read(self, path: Path) -> Call:
        raise NotImplementedError

    def launch(
        self, box: Sandbox, exe: Path, prompt: str, mode: str
    ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        """argv, extra environment, files to write (may contain @PORT@)."""
        raise NotImplementedError

    def tool_results(self, requests: list[dict[str, Any]]) -> list[ToolResult]:
        raise NotImplementedError


def base_env(box: Sandbox) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(box.home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        # Each hook call decides in its own process: no resident process outlives the test.
        "INTERLOCK_DAEMON": "0",
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return json.dumps(content)


class ClaudeCode(Client):
    name = "claude-code"
    modes = ("default", "acceptEdits", "bypassPermissions", "auto")

    def install_hook(self, box: Sandbox) -> None:
        installer.install(box.project, ("claude-code",), home=box.home)

    def shell(self, command: str) -> Call:
        return ("Bash", {"command": command, "description": "scripted step"})

    def read(self, path: Path) -> Call:
        return ("Read", {"file_path": str(path)})

    def launch(
        self, box: Sandbox, exe: Path, prompt: str, mode: str
    ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        argv = [str(exe), "-p", prompt, "--output-format", "json", "--no-session-persistence"]
        argv += ["--model", "fake-model"]
        env = {
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:@PORT@",
            "ANTHROPIC_API_KEY": "sk-e2e-test",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
        # Without the hook, each of these lets `rm -rf` in the project run (realclients.md):
        # so what stops it in these tests is Interlock, not Claude Code's own checks.
        if mode == "default":
            argv += ["--allowedTools", "Bash,Read"]
        elif mode == "acceptEdits":
            argv += ["--permission-mode", "acceptEdits", "--allowedTools", "Bash,Read"]
        elif mode == "bypassPermissions":
            argv += ["--permission-mode", "bypassPermissions"]
            env["IS_SANDBOX"] = "1"  # the tests run as root; Claude Code checks exactly this
        elif mode == "auto":
            argv += ["--permission-mode", "auto"]
        else:
            raise ValueError(mode)
        return argv, env, {}

    def tool_results(self, requests: list[dict[str, Any]]) -> list[ToolResult]:
        turns = [
            r["body"] for r in requests if r["path"] == "/v1/messages" and r["body"].get("tools")
        ]
        if not turns:
            return []
        calls: dict[str, tuple[str, dict[str, Any]]] = {}
        out = []
        for message in turns[-1].get("messages", []):
            content = message.get("content")
            if not isinstance(content, list):
                continue
            for block in content:
                if block.get("type") == "tool_use":
                    calls[block["id"]] = (block["name"], block.get("input", {}))
                elif block.get("type") == "tool_result":
                    name, args = calls.get(block.get("tool_use_id", ""), ("?", {}))
                    text = _text(block.get("content", ""))
                    out.append(ToolResult(name, args, text, bool(block.get("is_error"))))
        return out


class Codex(Client):
    name = "codex"
    modes = ("never-full-access",)
    rm = "rm -r"

    def install_hook(self, box: Sandbox) -> None:
        # User level ($CODEX_HOME/hooks.json): a project's .codex/hooks.json also needs a
        # trusted project. interlock.toml marks the project root, where the audit log goes.
        installer.install(box.project, ("codex",), user=True, home=box.home)
        (box.project / "interlock.toml").write_text(installer.CONFIG_TEMPLATE, "utf-8")

    def shell(self, command: str) -> Call:
        return ("exec_command", {"cmd": command})

    def read(self, path: Path) -> Call:
        return self.shell(f"cat {path}")  # Codex has no file-read tool of its own

    def launch(
        self, box: Sandbox, exe: Path, prompt: str, mode: str
    ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        codex_home = box.home / ".codex"
        config = (
            'model = "fake-model"\n'
            'model_provider = "fake"\n'
            'approval_policy = "never"\n'
            'sandbox_mode = "danger-full-access"\n'
            "check_for_update_on_startup = false\n"
            # Without these, startup runs `git ls-remote https://github.com/openai/plugins.git`.
            "[features]\nplugins = false\nremote_plugin = false\napps = false\n"
            "[analytics]\nenabled = false\n"
            "[model_providers.fake]\n"
            'name = "Fake local"\n'
            'base_url = "http://127.0.0.1:@PORT@/v1"\n'
            'env_key = "FAKE_OPENAI_API_KEY"\n'
            'wire_api = "responses"\n'
            "request_max_retries = 0\n"
            "stream_max_retries = 0\n"
        )
        argv = [str(exe), "exec", "--json", "--skip-git-repo-check", "--ephemeral"]
        # Codex skips hooks nobody has reviewed, silently; in automation this flag trusts them.
        # Mode "untrusted" leaves it out (test_skipped_hook.py: the suite must notice).
        if mode != "untrusted":
            argv.append("--dangerously-bypass-hook-trust")
        argv.append(prompt)
        env = {"CODEX_HOME": str(codex_home), "FAKE_OPENAI_API_KEY": "sk-e2e-test"}
        return argv, env, {str(codex_home / "config.toml"): config}

    def tool_results(self, requests: list[dict[str, Any]]) -> list[ToolResult]:
        turns = [r["body"] for r in requests if r["path"] == "/v1/responses"]
        if not turns:
            return []
        calls: dict[str, tuple[str, dict[str, Any]]] = {}
        out = []
        for item in turns[-1].get("input", []):
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                calls[item["call_id"]] = (item["name"], json.loads(item.get("arguments") or "{}"))
            elif item.get("type") == "function_call_output":
                name, args = calls.get(item.get("call_id", ""), ("?", {}))
                text = _text(item.get("output", ""))
                out.append(ToolResult(name, args, text, False))
        return out


class Gemini(Client):
    name = "gemini"
    modes = ("yolo",)

    def install_hook(self, box: Sandbox) -> None:
        installer.install(box.project, ("gemini",), home=box.home)

    def shell(self, command: str) -> Call:
        return ("run_shell_command", {"command": command, "description": "scripted step"})

    def read(self, path: Path) -> Call:
        # read_file refuses a path outside the workspace before any hook runs ("Path not in
        # workspace"), so the way a Gemini model reads ~/.aws/credentials is the shell.
        return self.shell(f"cat {path}")

    def launch(
        self, box: Sandbox, exe: Path, prompt: str, mode: str
    ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        settings = {
            "security": {
                "auth": {"selectedType": "gemini-api-key"},
                "folderTrust": {"enabled": False},
            },
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        }
        # Headless mode without yolo does not even offer run_shell_command (realclients.md §3).
        argv = [str(exe), "-p", prompt, "--output-format", "json", "--approval-mode", "yolo"]
        env = {
            "GEMINI_API_KEY": "sk-e2e-test",
            "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:@PORT@",
            "GEMINI_TELEMETRY_ENABLED": "false",
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
        }
        home_settings = str(box.home / ".gemini" / "settings.json")
        return argv, env, {home_settings: json.dumps(settings)}

    def tool_results(self, requests: list[dict[str, Any]]) -> list[ToolResult]:
        turns = [r["body"] for r in requests if r["path"].endswith(":streamGenerateContent")]
        if not turns:
            return []
        pending: list[tuple[str, dict[str, Any]]] = []
        out = []
        for content in turns[-1].get("contents", []):
            for part in content.get("parts", []):
                if "functionCall" in part:
                    call = part["functionCall"]
                    pending.append((call.get("name", "?"), call.get("args", {})))
                elif "functionResponse" in part:
                    response = part["functionResponse"].get("response", {})
                    name, args = pending.pop(0) if pending else ("?", {})
                    error = "error" in response
                    text = _text(
                        response.get("error") if error else response.get("output", response)
                    )
                    out.append(ToolResult(name, args, text, error))
        return out


CLIENTS: dict[str, Client] = {c.name: c for c in (ClaudeCode(), Codex(), Gemini())}


def run(
    client: Client,
    box: Sandbox,
    exe: Path,
    steps: list[list[Call]],
    mode: str,
    *,
    label: str,
    final: str = "Finished the scripted task.",
    side_text: str = "",
    runner: Path = HERE / "session.py",
    spec_extra: dict[str, Any] | None = None,
) -> Session:
    """One real session of ``client`` in ``box``, the model scripted to make ``steps``.

    ``runner`` is the script run in the namespace (``session.py``, or one that sets up more
    around it, such as approval_session.py); ``spec_extra`` is added to its spec.
    """
    argv, extra, files = client.launch(box, exe, "Do the scripted task.", mode)
    spec_path = box.root / f"spec-{len(TIMINGS)}-{os.getpid()}.json"
    out_path = spec_path.with_suffix(".out.json")
    netns = netns_available()
    spec = {
        "script": {"steps": steps, "final": final, "side_text": side_text},
        "argv": argv,
        "env": {**base_env(box), **extra},
        "files": files,
        "cwd": str(box.project),
        "timeout": SESSION_TIMEOUT_S,
        "out": str(out_path),
        "netns": netns,
        **(spec_extra or {}),
    }
    spec_path.write_text(json.dumps(spec), "utf-8")
    wrapper = ["unshare", "-n"] if netns else []
    started = time.monotonic()
    subprocess.run(
        [*wrapper, sys.executable, str(runner), str(spec_path)],
        check=True,
        timeout=SESSION_TIMEOUT_S + 30,
    )
    TIMINGS.append((f"{client.name} {label}", time.monotonic() - started))
    data = json.loads(out_path.read_text("utf-8"))
    session = Session(
        data["rc"],
        data["stdout"],
        data["stderr"],
        data["timed_out"],
        data["seconds"],
        data["requests"],
    )
    session.results = client.tool_results(session.requests)
    return session
