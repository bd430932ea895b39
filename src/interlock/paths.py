"""What a path holds, judged by where it is: the basis of every filesystem verdict.

A deletion is judged by what it would take away, not by the command's spelling:

| place               | example                                        | delete verdict |
|---------------------|------------------------------------------------|----------------|
| ROOT, HOME, SYSTEM  | ``/``, ``~``, ``/etc``, ``/var/lib/x``           | deny           |
| OUTSIDE             | ``/srv/data``, ``~/other-project``              | deny           |
| CREDENTIAL          | ``~/.ssh``, ``~/.aws/credentials``               | deny           |
| DEVICE              | ``/dev/sda``                                    | deny           |
| GUARD               | ``.claude/settings.json``, ``.interlock/``       | deny           |
| VAULT               | ``[vault] location`` of interlock.toml, in it    | deny           |
| PROJECT_ROOT        | ``.`` at the project root, ``*`` there           | deny           |
| STATE               | ``terraform.tfstate``, ``terraform.tfstate.d``   | ask            |
| PROJECT_SOURCE      | ``src/``, ``migrations/``, ``.git``              | ask            |
| UNKNOWN             | ``"$DIR/"``, ``${X:?}/y``                       | ask            |
| PROJECT_GENERATED   | ``node_modules``, ``dist``, ``.git/index.lock`` | allow          |
| TEMP                | ``/tmp/build-123``, ``/tmp/*.log``              | allow          |
| CACHE               | ``~/.cache/pip``, ``~/.gradle/caches``           | allow          |

Pure: paths are resolved lexically against the scope's working directory (no disk access),
``~`` and ``$HOME`` against the policy's home. The rule for anything outside the project is the
issue's "anything outside the project is deny", with two exceptions that guards which
over-block get switched off for (peers.md §b.4, Mnemosyne#1575): a folder below /tmp, /var/tmp
or /dev/shm is scratch space (/tmp itself and ``/tmp/*`` stay deny: other users' and
processes' files), and a package manager's download cache in the home directory
(:data:`HOME_CACHES`) is rebuilt on the next install.

GUARD is the agent's own guard: the agent settings that hold Interlock's hook, interlock.toml,
the audit log in ``.interlock/`` and the Python environment the hook runs from. An agent that
may rewrite those may switch its guard off, so writing, moving or deleting them is deny,
whatever the tool; reading them is fine. A person edits them, or ``interlock init`` does.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import posixpath
import re
import sys
from collections.abc import Callable

from interlock.analyzers import DYN, Scope
from interlock.decisions import Verdict


class Place(enum.Enum):
    """Where a path lands. Each value reads after a verb and fits a file as well as a folder
    ("deletes system files (/etc/hosts)", "recursively deletes system files (/var/lib/x)"):
    whether a path is a folder is not known without looking at the disk."""

    ROOT = "the filesystem root"
    HOME = "the home directory"
    SYSTEM = "system files"
    OUTSIDE = "files outside the project"
    CREDENTIAL = "credentials"
    DEVICE = "a block device"
    GUARD = "the agent's guard settings"
    VAULT = "the Interlock vault's backups"
    PROJECT_ROOT = "the whole project"
    STATE = "infrastructure state"
    PROJECT_SOURCE = "hand-written project files"
    UNKNOWN = "a path that is only known at run time"
    TEMP = "temporary files"
    CACHE = "a download cache in the home directory"
    PROJECT_GENERATED = "generated files inside the project"
    NULL = "a discard device"


DELETE_VERDICT: dict[Place, Verdict] = {
    Place.ROOT: Verdict.DENY,
    Place.HOME: Verdict.DENY,
    Place.SYSTEM: Verdict.DENY,
    Place.OUTSIDE: Verdict.DENY,
    Place.CREDENTIAL: Verdict.DENY,
    Place.DEVICE: Verdict.DENY,
    Place.GUARD: Verdict.DENY,
    Place.VAULT: Verdict.DENY,
    Place.PROJECT_ROOT: Verdict.DENY,
    Place.STATE: Verdict.ASK,
    Place.PROJECT_SOURCE: Verdict.ASK,
    Place.UNKNOWN: Verdict.ASK,
    Place.TEMP: Verdict.ALLOW,
    Place.CACHE: Verdict.ALLOW,
    Place.PROJECT_GENERATED: Verdict.ALLOW,
    Place.NULL: Verdict.ALLOW,
}
"""Verdict for deleting or recursively overwriting what lives at a place."""

WRITE_VERDICT: dict[Place, Verdict] = {
    **DELETE_VERDICT,
    Place.PROJECT_SOURCE: Verdict.ALLOW,
    Place.PROJECT_ROOT: Verdict.ALLOW,
    Place.TEMP: Verdict.ALLOW,
    Place.UNKNOWN: Verdict.ASK,
}
"""Verdict for truncating one file there (``> file``): editing the project is the agent's job."""

APPEND_VERDICT: dict[Place, Verdict] = {**WRITE_VERDICT, Place.OUTSIDE: Verdict.ASK}
"""Verdict for adding to the end of a file there (``>> file``).

Appending keeps what was there, so a file outside the project only asks (``>> ~/.bashrc`` is
a common set-up step); a system file, a credential store or a device still denies, since one
appended line is enough (a user in /etc/passwd, a key in ~/.ssh/authorized_keys)."""

# Folders whose content a build, package manager or tool recreates.
GENERATED_DIRS = frozenset(
    [
        "node_modules",
        "dist",
        "build",
        "out",
        "target",
        ".venv",
        "venv",
        "env",
        ".env.d",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".cache",
        ".parcel-cache",
        ".turbo",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".angular",
        ".gradle",
        ".eggs",
        "htmlcov",
        "coverage",
        ".coverage",
        ".nyc_output",
        "tmp",
        ".tmp",
        "bower_components",
        ".terraform-plugin-cache",
        ".sass-cache",
        ".expo",
        ".vite",
        ".docusaurus",
        "storybook-static",
        "_build",
        "cmake-build-debug",
        "cmake-build-release",
        ".pnpm-store",
        ".yarn-cache",
        "vendor-cache",
        ".dart_tool",
        ".build",
        "DerivedData",
        ".hypothesis",
        ".benchmarks",
        ".ipynb_checkpoints",
        "site",
        ".webpack",
        # Infrastructure tools: `terraform init`, `cdk synth`, `sls package`, `sam build`
        # recreate these. The state itself (terraform.tfstate) is STATE, never generated.
        ".terraform",
        "cdk.out",
        ".serverless",
        ".aws-sam",
        # .NET builds into bin/ and obj/, CocoaPods installs into Pods/, Elixir fetches deps/.
        # A hand-written bin/ (Rails binstubs, scripts) is in git: deleting it is undone by
        # `git checkout bin`, the cost the old ask was guarding.
        "bin",
        "obj",
        "Pods",
        "deps",
        # Test reports.
        "test-results",
        "playwright-report",
        "blob-report",
        # More framework and language caches.
        ".output",
        ".astro",
        ".wrangler",
        "elm-stuff",
        ".stack-work",
        "dist-newstyle",
        ".zig-cache",
        "zig-cache",
        "zig-out",
        ".kotlin",
        ".cxx",
    ]
)
# Two-part folders: Bundler's `bundle install --path vendor/bundle`; `vendor` alone is
# hand-written in many projects.
GENERATED_SUBPATHS = (("vendor", "bundle"),)
GENERATED_GLOBS = ("*.egg-info", "*.pyc", "*.pyo", "*.o", "*.class", "*.log", "*.tmp")
# Infrastructure state: what Terraform knows it created. Without it, `terraform apply` creates
# everything again and the old resources run on unmanaged; it is never regenerable, even in a
# folder that otherwise is (.terraform/).
STATE_NAMES = ("terraform.tfstate", "terraform.tfstate.backup", "*.tfstate", "terraform.tfstate.d")
# Names a glob part is tried against to find whether it could name a state file.
_STATE_EXAMPLES = (
    "terraform.tfstate",
    "terraform.tfstate.backup",
    "x.tfstate",
    "terraform.tfstate.d",
)

SYSTEM_DIRS = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/usr", "/var", "/home", "/mnt", "/media",
    "/snap", "/nix", "/Applications", "/Library", "/System", "/Users", "/Volumes", "/private",
)  # fmt: skip
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
NULL_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero")
DEVICE_PREFIXES = (
    "/dev/sd",
    "/dev/nvme",
    "/dev/hd",
    "/dev/vd",
    "/dev/xvd",
    "/dev/mmcblk",
    "/dev/disk",
    "/dev/md",
    "/dev/dm-",
    "/dev/mapper",
    "/dev/loop",
    "/dev/rdisk",
)
CREDENTIAL_PATTERNS = (
    "~/.ssh", "~/.ssh/*", "~/.aws", "~/.aws/*", "~/.netrc", "~/.pgpass", "~/.my.cnf",
    "~/.docker/config.json", "~/.kube", "~/.kube/*", "~/.config/gcloud", "~/.config/gcloud/*",
    "~/.azure", "~/.azure/*", "~/.git-credentials", "~/.config/gh/hosts.yml", "~/.npmrc",
    "~/.pypirc", "~/.gnupg", "~/.gnupg/*", "~/Library/Keychains", "~/Library/Keychains/*",
    "~/.local/share/keyrings", "~/.local/share/keyrings/*", "~/.password-store",
    "~/.password-store/*", "~/.railway", "~/.railway/*", "~/.config/railway/*", "~/.fly/*",
    "~/.netlify/*", "~/.vercel/*", "~/.config/doctl/*", "~/.terraform.d/credentials.tfrc.json",
    "~/.config/heroku/*", "~/.supabase/*", "~/.config/neonctl/*", "~/.claude/.credentials.json",
    "~/.codex/auth.json", "~/.gemini/oauth_creds.json", "/etc/shadow", "/etc/gshadow",
    "/etc/ssl/private", "/etc/ssl/private/*", "/var/run/secrets/*", "/run/secrets/*",
    "/proc/*/environ", "/proc/*/task/*/environ", "~/.cache/huggingface/token",
)  # fmt: skip
# /proc/<pid>/environ is a process's whole environment, tokens included: reading it is reading
# every secret the agent's own shell (or any other process of the user) was given.
# Anywhere (also inside the project): files that by name hold secrets.
CREDENTIAL_NAMES = (
    ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa", "id_rsa.*", "id_ed25519",
    "id_ed25519.*", "id_ecdsa", "id_dsa", "credentials", "credentials.json", "*.tfvars",
    "terraform.tfstate", "terraform.tfstate.backup", ".netrc", ".pgpass", "secrets.y*ml",
    "service-account*.json", "*.kdbx", "kubeconfig", ".npmrc", ".pypirc", "auth.json",
)  # fmt: skip
CREDENTIAL_NAME_EXCEPTIONS = (".env.example", ".env.sample", ".env.template", ".env.dist")
# Public halves of credential stores, wherever they are: `cat ~/.ssh/id_rsa.pub` or
# `curl -F f=@~/.ssh/known_hosts` leaks no secret, yet ~/.ssh/* and id_rsa.* would flag them.
PUBLIC_KEY_NAMES = ("*.pub", "known_hosts", "known_hosts.old", "authorized_keys")

# Package managers' download caches in the home directory, relative to it: the next install
# downloads them again (`pip cache purge`, `npm cache clean` and `cargo clean` do the same).
# ~/.config, ~/.local/share and ~/.ssh hold what cannot be downloaded again: not here.
HOME_CACHES = (
    ".cache", "Library/Caches", "Library/Developer/Xcode/DerivedData", ".npm/_cacache",
    ".npm/_npx", ".npm/_logs", ".cargo/registry/cache", ".cargo/registry/src",
    ".cargo/registry/index", ".cargo/git/checkouts", ".cargo/git/db", ".gradle/caches",
    ".gradle/wrapper/dists", ".m2/repository", ".ivy2/cache", ".nuget/packages",
    ".yarn/berry/cache", ".pnpm-store", ".local/share/pnpm/store", ".bun/install/cache",
    ".composer/cache", ".node-gyp", ".pub-cache",
)  # fmt: skip

# The agent's guard (Place.GUARD). Files by their last path parts, wherever they are: an agent
# may run from a sub-folder of the project, and the same names hold in the home directory.
GUARD_FILES = (
    (".claude", "settings.json"),
    (".claude", "settings.local.json"),
    (".cursor", "hooks.json"),
    (".codex", "hooks.json"),
    (".codex", "config.toml"),
    (".gemini", "settings.json"),
    ("interlock.toml",),
)
# Folders holding those files: moving or deleting one takes the settings with it.
GUARD_HOLDERS = (".claude", ".cursor", ".codex", ".gemini")
# Interlock's own folder (audit log, init record), whole: any path through it.
GUARD_FOLDER = ".interlock"


def resolve(word: str, scope: Scope) -> str:
    """An absolute, normalised path for a shell word; unknown parts stay as DYN.

    ``~`` and ``~/x`` use the policy's home; a relative path joins the working directory, or
    becomes unknown when the working directory is (after ``cd "$X"``).
    """
    home = scope.policy.home
    if word == "~" or word.startswith("~/"):
        word = home + word[1:]
    elif word.startswith("~") and "/" not in word[1:] and DYN not in word:
        return "/home/" + word[1:]  # ~user: another user's home
    if word.startswith(DYN):
        return word  # "$DIR/x": even whether it is absolute is unknown
    if word.startswith("/"):
        path = word
    elif scope.cwd is None or scope.remote is not None:
        path = DYN + "/" + word
    else:
        path = scope.cwd + "/" + word
    # normpath would fold "x/\0/.." wrongly only if the unknown part were "..": treat as unknown.
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = normal[1:]
    return normal


def place_of(word: str, scope: Scope) -> Place:
    """Where a path (a shell word, possibly a glob or partly unknown) lands."""
    path = resolve(word, scope)
    return place_of_path(path, scope)


def place_of_path(path: str, scope: Scope) -> Place:
    if scope.remote is not None and not path.startswith("/"):
        return Place.UNKNOWN
    if path in NULL_DEVICES:
        return Place.NULL
    place = _place_of_known(path, scope)
    vaults = scope.policy.vaults
    if vaults and place not in _OVER_VAULT and scope.remote is None and _in_vault(path, vaults):
        return Place.VAULT
    if place not in _FIXED and scope.remote is None and _is_guard(path, scope):
        # Checked after the rest so `rm -rf /*` stays "the filesystem root"; over every place
        # that would allow or ask, and over "outside the project" for a clearer reason.
        return Place.GUARD
    return place


# Places the guard check does not replace: already deny for every operation, and their
# reason is the clearer one.
_FIXED = frozenset({Place.ROOT, Place.HOME, Place.SYSTEM, Place.CREDENTIAL, Place.DEVICE})


def _place_of_known(path: str, scope: Scope) -> Place:
    if _in_credential_store(path, scope) and not _project_secret_file(path, scope):
        return Place.CREDENTIAL
    known = path.partition(DYN)[0]
    if DYN in path:
        # "$DIR/x": nothing known. "/home/dev/app/build/$X": judged by the known prefix, and
        # an unknown tail can be anything below it.
        # "/$X" (find / -exec rm {} gives "/\0") keeps "/" as its known prefix: anything
        # below the root.
        prefix = known.rstrip("/*") or ("/" if known.startswith("/") else "")
        if not prefix:
            return Place.UNKNOWN
        base = _place_of_static(prefix, scope, whole_folder=True)
        if base in (Place.PROJECT_SOURCE, Place.PROJECT_ROOT):
            return Place.UNKNOWN
        return base
    glob = any(ch in path for ch in "*?[")
    if glob:
        return _place_of_glob(path, scope)
    return _place_of_static(path, scope)


def _place_of_glob(path: str, scope: Scope) -> Place:
    head = path.split("*")[0].split("?")[0].split("[")[0]
    folder = head if head.endswith("/") else posixpath.dirname(head)
    folder = folder.rstrip("/") or "/"
    base = _place_of_static(folder, scope, whole_folder=True)
    name = path[len(folder) :].lstrip("/")
    if base is Place.PROJECT_ROOT or base is Place.PROJECT_SOURCE:
        parts = name.split("/")
        if any(_segment_matches(p, n) for p in parts for n in _STATE_EXAMPLES):
            return Place.STATE
        if _through_generated(parts):
            # "**/node_modules", "packages/*/dist": every match is inside a generated folder.
            return Place.PROJECT_GENERATED
    if base in (Place.PROJECT_ROOT, Place.ROOT, Place.HOME, Place.SYSTEM, Place.OUTSIDE):
        # "rm -rf *" in a folder takes the folder's content: judge by the folder, unless the
        # glob names only generated files ("*.pyc") or named scratch files ("/tmp/*.log",
        # "/tmp/build-*"; "/tmp/*" is every user's and process's).
        if folder in TEMP_DIRS and "/" not in name and not _catch_all(name):
            return Place.TEMP
        if "/" not in name and any(fnmatch.fnmatchcase(name, g) for g in GENERATED_GLOBS):
            return Place.PROJECT_GENERATED if base is Place.PROJECT_ROOT else base
        return base
    return base if base is not Place.PROJECT_SOURCE else _place_of_static(path, scope)


def _catch_all(segment: str) -> bool:
    """A glob part that matches any name: ``*``, ``**``, ``?*``."""
    return bool(segment) and all(ch in "*?" for ch in segment)


def _segment_matches(segment: str, name: str) -> bool:
    """Whether one path part (possibly a glob) names ``name``.

    Unknown parts name nothing for sure; a catch-all (``*``) is left to the folder's own place
    (``rm -rf *`` is the whole project, not its interlock.toml); and as in the shell, a
    wildcard does not match a leading dot.
    """
    if DYN in segment:
        return False
    if not any(ch in segment for ch in "*?["):
        return segment == name
    if _catch_all(segment) or (name.startswith(".") and not segment.startswith(".")):
        return False
    return fnmatch.fnmatchcase(name, segment)


def _through_generated(parts: list[str]) -> bool:
    """True when a literal part of a glob is a generated folder, so every match lies in one."""
    for index, part in enumerate(parts):
        if any(ch in part for ch in "*?["):
            if part.startswith("."):
                return False  # ".*" may match ".." in older shells: the way out of the project
            continue
        if part in GENERATED_DIRS or tuple(parts[index : index + 2]) in GENERATED_SUBPATHS:
            return True
    return False


_NOT_LITERAL = ("*", "?", "[", DYN)
_GUARD_LAST = frozenset([*GUARD_HOLDERS, *(names[-1] for names in GUARD_FILES)])


def _guard_tail(parts: list[str]) -> bool:
    """Plain parts ending in a guard file's names, or in a folder holding them."""
    return parts[-1] in GUARD_HOLDERS or any(
        tuple(parts[-len(names) :]) == names for names in GUARD_FILES
    )


def _is_guard(path: str, scope: Scope) -> bool:
    """True for a path that is, holds or lies in the agent's guard (:data:`Place.GUARD`)."""
    # Only the parts below the project (or else the home) count: a project that lives in a
    # folder named .interlock (the demo's) is not all guard.
    parts = path.strip("/").split("/")
    for base in (scope.policy.project_root, scope.policy.home):
        base = posixpath.normpath(base)
        if _within(path, base):
            parts = path[len(base) :].strip("/").split("/") if path != base else []
            break
    if not any(ch in path for ch in _NOT_LITERAL):
        # The common case, a plain path: set lookups (this runs for every path judged).
        return (
            GUARD_FOLDER in parts
            or (bool(parts) and parts[-1] in _GUARD_LAST and _guard_tail(parts))
            or _guards_interpreter(path)
        )
    if any(_segment_matches(part, GUARD_FOLDER) for part in parts):
        return True
    for names in GUARD_FILES:
        tail = parts[-len(names) :]
        if len(tail) == len(names) and all(map(_segment_matches, tail, names)):
            return True
    if parts and any(_segment_matches(parts[-1], holder) for holder in GUARD_HOLDERS):
        return True
    return DYN not in path and _guards_interpreter(path)


def _guards_interpreter(path: str) -> bool:
    """The Python the hooks run, its virtual environment, and Interlock installed in it.

    The interpreter deciding is the one the hooks call: ``interlock init`` writes
    ``sys.executable`` into the agent's settings and the warm process is started with the same
    one. Deleting the venv, or a link in place of ``bin/python``, makes every hook fail, and
    the agents run a failing hook as a warning, not a block. An editable install's sources
    (a checkout of Interlock) are project files, not guarded here.
    """
    anchors, prefix = _interpreter()
    if not prefix:
        return False
    for anchor in anchors:
        if _within(anchor, path) and _within(path, prefix):
            return True  # the file itself or a folder that holds it, inside the venv
        if anchor != anchors[0] and _within(path, anchor):
            return True  # inside the installed package
    return False


@functools.lru_cache(maxsize=1)
def _interpreter() -> tuple[tuple[str, ...], str]:
    """(interpreter, package folder when installed in the venv), and the venv; "" when the
    interpreter is not a venv's (a system Python is already a system path)."""
    if sys.prefix == sys.base_prefix or not sys.executable:
        return (), ""
    prefix = posixpath.normpath(sys.prefix)
    anchors = [posixpath.normpath(sys.executable)]
    package = posixpath.dirname(posixpath.normpath(__file__))
    if _within(package, prefix):
        anchors.append(package)
    return tuple(anchors), prefix


def _in_vault(path: str, vaults: tuple[str, ...]) -> bool:
    """A path in or holding a configured vault folder. A path known only up to ``$X`` counts
    when its known part is in the vault; a glob when it may name the vault or a folder above."""
    if DYN in path:
        known = path.partition(DYN)[0].rstrip("/*")
        return bool(known) and any(_within(known, vault) for vault in vaults)
    if any(ch in path for ch in "*?["):
        import fnmatch

        for vault in vaults:
            folders = [vault, *(f"/{p}" for p in _ancestors(vault))]
            if any(fnmatch.fnmatchcase(f, path) for f in folders):
                return True
    return any(_within(path, vault) or _within(vault, path) for vault in vaults)


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


# Places already denied whose reason is clearer than "the vault's backups" ("rm -rf /" is the
# filesystem root, "rm -rf ." the whole project, even where a vault lies below them).
_OVER_VAULT = _FIXED | {Place.PROJECT_ROOT, Place.GUARD}


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _place_of_static(path: str, scope: Scope, whole_folder: bool = False) -> Place:
    policy = scope.policy
    root = posixpath.normpath(policy.project_root)
    home = posixpath.normpath(policy.home)
    if path == "/":
        return Place.ROOT
    if path.startswith(DEVICE_PREFIXES):
        return Place.DEVICE
    if _within(path, root):
        if path == root:
            return Place.PROJECT_ROOT
        parts = path[len(root) + 1 :].split("/")
        if any(_globs(STATE_NAMES)(p) for p in parts):
            return Place.STATE
        if any(p in GENERATED_DIRS or _generated_name(p) for p in parts) or any(
            tuple(parts[i : i + 2]) in GENERATED_SUBPATHS for i in range(len(parts) - 1)
        ):
            return Place.PROJECT_GENERATED
        if parts[0] == ".git" and len(parts) > 1 and fnmatch.fnmatchcase(parts[-1], "*.lock"):
            # index.lock, HEAD.lock, refs/heads/x.lock: left by a git that crashed or was
            # killed, and removing them is what git's own error message tells you to do.
            return Place.PROJECT_GENERATED
        return Place.PROJECT_SOURCE
    if path == home or (posixpath.dirname(path) == "/home"):
        return Place.HOME
    if path == policy.home.rstrip("/") + "/*":  # pragma: no cover - globs handled above
        return Place.HOME
    for temp in TEMP_DIRS:
        if _within(path, temp):
            return Place.TEMP if path != temp else Place.SYSTEM
    if _within(path, home):
        relative = path[len(home) :].lstrip("/")
        if any(_within(relative, cache) for cache in HOME_CACHES):
            return Place.CACHE
        return Place.OUTSIDE
    for system in SYSTEM_DIRS:
        if _within(path, system):
            return Place.SYSTEM
    return Place.OUTSIDE


def _generated_name(part: str) -> bool:
    return any(fnmatch.fnmatchcase(part, g) for g in GENERATED_GLOBS)


def is_credential(path: str, scope: Scope) -> bool:
    """True for a path that holds a secret (by location or by file name).

    Public key files (:data:`PUBLIC_KEY_NAMES`) hold none, even inside ``~/.ssh``: reading or
    sending them is harmless. They still live in a credential store, so :func:`place_of` keeps
    them there: replacing ``~/.ssh/authorized_keys`` grants a login (the classic persistence
    step), and replacing ``known_hosts`` opens the door to a spoofed host.
    """
    if _globs(PUBLIC_KEY_NAMES)(posixpath.basename(path)):
        return False
    return _in_credential_store(path, scope)


def _project_secret_file(path: str, scope: Scope) -> bool:
    """A secret-named file inside the project (``.env``, ``config/master.key``).

    Reading one is a credential read (:func:`is_credential`), but writing or replacing it is
    ordinary project work (``cp .env.example .env``), so where it *is* counts as the project.
    Credential stores by location (``~/.ssh``, ``~/.aws``) stay credential stores everywhere.
    """
    if _credential_locations(scope.policy.home.rstrip("/"))(path):
        return False
    root = posixpath.normpath(scope.policy.project_root)
    return path.startswith(root.rstrip("/") + "/")


def _in_credential_store(path: str, scope: Scope) -> bool:
    """True for a path in a credential location or named like a credential file."""
    if _credential_locations(scope.policy.home.rstrip("/"))(path):
        return True
    name = posixpath.basename(path)
    if name in CREDENTIAL_NAME_EXCEPTIONS:
        return False
    return _globs(CREDENTIAL_NAMES)(name) is not None


@functools.lru_cache(maxsize=16)
def _globs(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """fnmatchcase over a whole list of patterns as one regex match, compiled on first use.

    Matching ~90 patterns one fnmatch call at a time cost ~40 µs per path and dominated the
    hook's decide() time (is_credential runs for every path a command touches); compiling
    lazily keeps the cost off processes that import this module but judge no path.
    """
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


@functools.lru_cache(maxsize=8)
def _credential_locations(home: str) -> Callable[[str], re.Match[str] | None]:
    """CREDENTIAL_PATTERNS with ``~`` replaced by ``home``: one regex per home."""
    return _globs(tuple(home + p[1:] if p.startswith("~") else p for p in CREDENTIAL_PATTERNS))


def describe(word: str, place: Place) -> str:
    """ "the home directory (~)" / "hand-written project files (src)"."""
    return f"{place.value} ({word.replace(DYN, '…')})"
