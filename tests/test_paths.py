"""interlock.paths: where a path lands (every Place), credentials by location and by name."""

from __future__ import annotations

import fnmatch
import posixpath
import time

import pytest

from interlock.analyzers import DYN, Scope
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.paths import (
    CREDENTIAL_NAME_EXCEPTIONS,
    CREDENTIAL_NAMES,
    CREDENTIAL_PATTERNS,
    DELETE_VERDICT,
    Place,
    is_credential,
    place_of,
)

HOME = "/home/dev"
POLICY = Policy(project_root="/home/dev/app", home=HOME, vaults=("/home/dev/app/backups",))
SCOPE = Scope(policy=POLICY, cwd="/home/dev/app", environment=None)

PLACES = [
    ("/", Place.ROOT),
    ("/*", Place.ROOT),
    ("~", Place.HOME),
    ("/home/other", Place.HOME),
    ("/etc", Place.SYSTEM),
    ("/var/lib/postgresql", Place.SYSTEM),
    ("/tmp", Place.SYSTEM),
    ("/srv-data/backups", Place.OUTSIDE),
    ("~/other-project", Place.OUTSIDE),
    ("~/.ssh", Place.CREDENTIAL),
    ("~/.aws/credentials", Place.CREDENTIAL),
    (".env", Place.PROJECT_SOURCE),  # a secret file in the project: reading asks, writing is work
    ("/srv/other/.env", Place.CREDENTIAL),
    ("/dev/sda", Place.DEVICE),
    (".", Place.PROJECT_ROOT),
    ("*", Place.PROJECT_ROOT),
    ("src", Place.PROJECT_SOURCE),
    (".git", Place.PROJECT_SOURCE),
    (f"{DYN}/", Place.UNKNOWN),
    (f"src/{DYN}", Place.UNKNOWN),
    ("/tmp/build-123", Place.TEMP),
    ("/dev/shm/x", Place.TEMP),
    ("node_modules", Place.PROJECT_GENERATED),
    ("*.pyc", Place.PROJECT_GENERATED),
    (f"build/{DYN}", Place.PROJECT_GENERATED),
    ("/dev/null", Place.NULL),
    (".claude/settings.json", Place.GUARD),
    ("~/.codex/config.toml", Place.GUARD),
    (".interlock/audit.jsonl", Place.GUARD),
    ("backups/objects/ab/abcd", Place.VAULT),
    ("terraform.tfstate", Place.STATE),
    ("~/.cache/pip", Place.CACHE),
]


@pytest.mark.parametrize(("word", "place"), PLACES)
def test_place_of(word: str, place: Place) -> None:
    assert place_of(word, SCOPE) is place


def test_the_place_table_covers_every_place() -> None:
    assert {place for _, place in PLACES} == set(Place)


def test_a_dynamic_path_below_the_root_is_judged_as_the_root() -> None:
    # `find / -exec rm -rf {} +` hands rm "/" + DYN: anything below /, not "unknown" (ask).
    assert place_of("/" + DYN, SCOPE) is Place.ROOT
    assert place_of(f"/{DYN}/x", SCOPE) is Place.ROOT
    assert DELETE_VERDICT[place_of("/" + DYN, SCOPE)] is Verdict.DENY
    assert place_of(DYN, SCOPE) is Place.UNKNOWN  # "$X": not even known to be absolute
    remote = Scope(policy=POLICY, cwd=None, environment=None, remote="db-1")
    assert place_of("data", remote) is Place.UNKNOWN


@pytest.mark.parametrize(
    "path",
    [
        "/home/dev/.ssh/id_rsa.pub",
        "/home/dev/.ssh/deploy_ed25519.pub",
        "/home/dev/.ssh/known_hosts",
        "/home/dev/.ssh/known_hosts.old",
        "/home/dev/.ssh/authorized_keys",
        "/home/dev/app/deploy/id_rsa.pub",
    ],
)
def test_public_key_files_are_not_credentials(path: str) -> None:
    assert not is_credential(path, SCOPE)


def test_public_key_files_stay_in_the_credential_store() -> None:
    # Not secret to read, but replacing authorized_keys grants a login: writes stay guarded.
    for word in ("~/.ssh/authorized_keys", "~/.ssh/known_hosts", "~/.ssh/id_rsa.pub"):
        assert place_of(word, SCOPE) is Place.CREDENTIAL


@pytest.mark.parametrize(
    "path",
    [
        "/home/dev/.ssh",
        "/home/dev/.ssh/id_rsa",
        "/home/dev/.ssh/config",
        "/home/dev/.ssh/*",
        "/home/dev/.aws/credentials",
        "/etc/shadow",
        "/run/secrets/db",
        "/home/dev/app/.env.production",
        "/home/dev/app/certs/server.key",
    ],
)
def test_secrets_stay_credentials(path: str) -> None:
    assert is_credential(path, SCOPE)


def _fnmatch_reference(path: str, home: str) -> bool:
    """is_credential as it was written before the patterns were compiled into one regex."""
    for pattern in CREDENTIAL_PATTERNS:
        full = home.rstrip("/") + pattern[1:] if pattern.startswith("~") else pattern
        if fnmatch.fnmatchcase(path, full):
            return True
    name = posixpath.basename(path)
    if name in CREDENTIAL_NAME_EXCEPTIONS:
        return False
    return any(fnmatch.fnmatchcase(name, p) for p in CREDENTIAL_NAMES)


def _sample_paths(home: str) -> set[str]:
    """Paths in and around every credential location, named like every credential file."""
    folders = ["/", "/etc", "/etc/ssl/private", "/run/secrets", "/home/dev/app", DYN]
    folders += [home.rstrip("/") + p[1:].rstrip("*/") for p in CREDENTIAL_PATTERNS if p[0] == "~"]
    names = ["", "x", "*", DYN, ".env.example", "config.json", "hosts.yml", "secrets.yaml"]
    names += [p.replace("*", "a") for p in CREDENTIAL_NAMES]
    return {posixpath.join(folder, name) for folder in folders for name in names}


@pytest.mark.parametrize("home", ["/home/dev", "/home/dev/", "/Users/a b", "/home/[x]"])
def test_compiled_credential_patterns_agree_with_fnmatch(home: str) -> None:
    scope = Scope(
        policy=Policy(project_root="/home/dev/app", home=home), cwd=None, environment=None
    )
    for path in _sample_paths(home):
        assert is_credential(path, scope) == _fnmatch_reference(path, home), path


def test_credential_check_time(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed, not asserted (docs/performance.md: timed assertions make flaky builds)."""
    paths = _sample_paths(HOME)
    is_credential("/", SCOPE)  # compile outside the timing, as a warm hook process has
    start = time.perf_counter()
    for path in paths:
        is_credential(path, SCOPE)
    compiled = (time.perf_counter() - start) / len(paths) * 1e6
    start = time.perf_counter()
    for path in paths:
        _fnmatch_reference(path, HOME)
    reference = (time.perf_counter() - start) / len(paths) * 1e6
    with capsys.disabled():
        print(
            f"\nis_credential: {compiled:.1f} µs a path (fnmatch per pattern: {reference:.1f} µs)"
        )
