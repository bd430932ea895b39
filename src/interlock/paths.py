"""What a path holds, judged by where it is: the basis of every filesystem verdict.

A deletion is judged by what it would take away, not by the command's spelling:

| place               | example                                   | delete verdict |
|---------------------|-------------------------------------------|----------------|
| ROOT, HOME, SYSTEM  | ``/``, ``~``, ``/etc``, ``/var/lib/x``      | deny           |
| OUTSIDE             | ``/srv/data``, ``~/other-project``         | deny           |
| CREDENTIAL          | ``~/.ssh``, ``~/.aws/credentials``          | deny           |
| DEVICE              | ``/dev/sda``                               | deny           |
| PROJECT_ROOT        | ``.`` at the project root, ``*`` there      | deny           |
| PROJECT_SOURCE      | ``src/``, ``migrations/``, ``.git``         | ask            |
| UNKNOWN             | ``"$DIR/"``, ``${X:?}/y``                  | ask            |
| PROJECT_GENERATED   | ``node_modules``, ``dist``, ``.venv``      | allow          |
| TEMP                | ``/tmp/build-123`` (not ``/tmp`` itself)   | allow          |

Pure: paths are resolved lexically against the scope's working directory (no disk access),
``~`` and ``$HOME`` against the policy's home. The rule for anything outside the project is the
issue's "anything outside the project is deny", with one exception: a folder below /tmp,
/var/tmp or /dev/shm is scratch space, and cleaning it up is ordinary work that guards which
over-block get switched off for (peers.md §b.4, Mnemosyne#1575). /tmp itself stays deny.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import posixpath
import re
from collections.abc import Callable

from interlock.analyzers import DYN, Scope
from interlock.decisions import Verdict


class Place(enum.Enum):
    ROOT = "the filesystem root"
    HOME = "the home directory"
    SYSTEM = "a system folder"
    OUTSIDE = "a folder outside the project"
    CREDENTIAL = "a credential store"
    DEVICE = "a block device"
    PROJECT_ROOT = "the whole project"
    PROJECT_SOURCE = "hand-written project files"
    UNKNOWN = "a path that is only known at run time"
    TEMP = "a temporary folder"
    PROJECT_GENERATED = "generated files inside the project"
    NULL = "a discard device"


DELETE_VERDICT: dict[Place, Verdict] = {
    Place.ROOT: Verdict.DENY,
    Place.HOME: Verdict.DENY,
    Place.SYSTEM: Verdict.DENY,
    Place.OUTSIDE: Verdict.DENY,
    Place.CREDENTIAL: Verdict.DENY,
    Place.DEVICE: Verdict.DENY,
    Place.PROJECT_ROOT: Verdict.DENY,
    Place.PROJECT_SOURCE: Verdict.ASK,
    Place.UNKNOWN: Verdict.ASK,
    Place.TEMP: Verdict.ALLOW,
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
    ]
)
GENERATED_GLOBS = ("*.egg-info", "*.pyc", "*.pyo", "*.o", "*.class", "*.log", "*.tmp")

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
)  # fmt: skip
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
        head = path.split("*")[0].split("?")[0].split("[")[0]
        folder = head if head.endswith("/") else posixpath.dirname(head)
        folder = folder.rstrip("/") or "/"
        base = _place_of_static(folder, scope, whole_folder=True)
        if base in (Place.PROJECT_ROOT, Place.ROOT, Place.HOME, Place.SYSTEM, Place.OUTSIDE):
            # "rm -rf *" in a folder takes the folder's content: judge by the folder, unless the
            # glob names only generated files ("*.pyc").
            name = path[len(folder) :].lstrip("/")
            if "/" not in name and any(fnmatch.fnmatchcase(name, g) for g in GENERATED_GLOBS):
                return Place.PROJECT_GENERATED if base is Place.PROJECT_ROOT else base
            return base
        return base if base is not Place.PROJECT_SOURCE else _place_of_static(path, scope)
    return _place_of_static(path, scope)


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
        if any(p in GENERATED_DIRS or _generated_name(p) for p in parts):
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
