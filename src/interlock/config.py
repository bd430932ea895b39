"""`interlock.toml`: environments, rule overrides and the defaults that protect production.

Read with the standard library's tomllib; the hook loads it on every call, so nothing heavier.
A missing file gives the embedded defaults, which already protect production. A malformed file
is a :class:`~interlock.errors.ConfigError`; a hook turns that into a deny (fail closed).

    [environments]
    default = "development"            # environment of an action nobody labelled
    production = ["production", "prod", "live"]   # names treated as production

    [environments.hosts]               # which environment a host, context or profile belongs to
    production = ["db.prod.internal", "*.prod.example.com", "prod-cluster"]
    staging = ["*.staging.example.com"]

    [[rules]]
    id = "allow-tmp-scratch"
    operation = "fs.delete*"           # fnmatch over the finding's operation
    path = "/tmp/**"                   # optional: any target must match
    environment = "*"                  # optional: fnmatch over the finding's environment
    decision = "allow"                 # allow | ask | deny
    reason = "scratch space"
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.decisions import Verdict
from interlock.environments import KINDS, Resolver
from interlock.errors import ConfigError

CONFIG_NAME = "interlock.toml"
MAX_INPUT_BYTES = 1_000_000
DEFAULT_PRODUCTION = ("production", "prod", "live")


@dataclass(frozen=True)
class Rule:
    """A user override: findings it matches get ``decision``. Among matching rules deny wins."""

    id: str
    decision: Verdict
    operation: str = "*"
    path: str | None = None
    environment: str | None = None
    reason: str = ""
    quorum: int | None = None
    """Distinct approvers an ``ask`` from this rule needs (docs/server.md); None: the default."""

    def matches(self, operation: str, targets: tuple[str, ...], environment: str | None) -> bool:
        if not fnmatch.fnmatchcase(operation, self.operation):
            return False
        if self.environment is not None and not fnmatch.fnmatchcase(
            environment or "", self.environment
        ):
            return False
        if self.path is not None:
            pattern = os.path.expanduser(self.path)
            if not targets or not all(_path_match(t, pattern) for t in targets):
                return False
        return True


def _path_match(target: str, pattern: str) -> bool:
    # "/tmp/**" matches /tmp/x and /tmp/x/y; fnmatch's * already crosses "/".
    if pattern.endswith("/**"):
        base = pattern[:-3]
        return target == base or fnmatch.fnmatchcase(target, base + "/*")
    return fnmatch.fnmatchcase(target, pattern)


@dataclass(frozen=True)
class Approvals:
    """``[approvals]``: where a hook files an ``ask`` and how approvals behave (issue 5).

    Bounded defaults: a pending request expires in an hour (expiry is deny), an approval must
    be used within 15 minutes, production actions that cannot be undone need two approvers.
    """

    server: str | None = None
    """Base URL of ``interlock serve``; None: no server, ``ask`` stays the agent's own prompt."""
    wait: float = 0.0
    """Seconds a hook long-polls for a decision before denying with the request id."""
    expire: float = 3600.0
    use_within: float = 900.0
    quorum: int = 1
    production_quorum: int = 2


_APPROVAL_LIMITS: dict[str, tuple[float, float]] = {
    "wait": (0, 25),
    "expire": (10, 7 * 86400),
    "use_within": (10, 86400),
    "quorum": (1, 10),
    "production_quorum": (1, 10),
}


@dataclass(frozen=True)
class Policy:
    """Everything the pure decision engine needs besides the action."""

    project_root: str
    home: str = field(default_factory=lambda: os.path.expanduser("~"))
    default_environment: str = "development"
    production: tuple[str, ...] = DEFAULT_PRODUCTION
    hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """environment -> host, kube context, cloud profile or project-name patterns."""
    inventory: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    """environment -> kind (host, database, aws_account, …) -> patterns: ``[inventory.<env>]``."""
    resolvers: tuple[Resolver, ...] = ()
    """Look-ups beyond the static inventory (the gateway's provider resolvers)."""
    rules: tuple[Rule, ...] = ()
    approvals: Approvals = field(default_factory=Approvals)
    revision: str = "builtin"
    source: str | None = None
    """Path of the interlock.toml this came from, or None for the embedded defaults."""
    vaults: tuple[str, ...] = ()
    """Vault folders on this machine (``[vault] location``): no agent command may write or
    delete anything in them (paths.Place.VAULT)."""

    def is_production(self, environment: str | None) -> bool:
        return environment is not None and environment.lower() in self.production

    def environment_of(self, name: str, kind: str = "any") -> str | None:
        """The environment a host, context, profile, id or project name belongs to, if known.

        Configured names first (a production one wins), then a name that says it is production
        as a whole word ("prod-db", "api.production.x"); see :mod:`interlock.environments`.
        """
        from interlock.environments import resolve

        return resolve(self, kind, name)


def find_config(start: str | os.PathLike[str]) -> Path | None:
    """The nearest interlock.toml in ``start`` or above it; INTERLOCK_CONFIG wins when set."""
    explicit = os.environ.get("INTERLOCK_CONFIG")
    if explicit:
        return Path(explicit)
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_policy(start: str | os.PathLike[str] | None = None) -> Policy:
    """The policy in force for a working directory: its interlock.toml, or the defaults.

    Without a config file the project root is the enclosing git work tree, else ``start``.
    """
    start_path = Path(start or os.getcwd())
    path = find_config(start_path)
    if path is None:
        # No file, but INTERLOCK_SERVER still names the approval server (docs/hooks.md).
        approvals = _approvals({}, "INTERLOCK_SERVER")
        return Policy(project_root=str(_project_root(start_path)), approvals=approvals)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_policy(raw, project_root=str(path.resolve().parent), source=str(path))


def _project_root(start: Path) -> Path:
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def parse_policy(raw: bytes, *, project_root: str, source: str | None = None) -> Policy:
    where = source or "interlock.toml"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    revision = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
    vaults = _vault_folders(data.get("vault"), Path(project_root))
    envs = _table(data, "environments", where)
    project = _table(data, "project", where)
    root = project.get("root")
    if root is not None:
        if not isinstance(root, str):
            raise ConfigError(f"{where}: project.root must be a string")
        project_root = str((Path(project_root) / root).resolve())
    default_env = envs.get("default", "development")
    if not isinstance(default_env, str):
        raise ConfigError(f"{where}: environments.default must be a string")
    production = envs.get("production", list(DEFAULT_PRODUCTION))
    if not (isinstance(production, list) and all(isinstance(p, str) for p in production)):
        raise ConfigError(f"{where}: environments.production must be a list of names")
    hosts_raw = envs.get("hosts", {})
    if not isinstance(hosts_raw, dict):
        raise ConfigError(f"{where}: environments.hosts must be a table of lists")
    hosts: dict[str, tuple[str, ...]] = {}
    for env, patterns in hosts_raw.items():
        if not (isinstance(patterns, list) and all(isinstance(p, str) for p in patterns)):
            raise ConfigError(f"{where}: environments.hosts.{env} must be a list of patterns")
        hosts[env] = tuple(patterns)
    inventory = _inventory(_table(data, "inventory", where), where)
    rules = tuple(_rule(r, i, where) for i, r in enumerate(_list(data, "rules", where)))
    approvals = _approvals(_table(data, "approvals", where), where)
    known = {"environments", "inventory", "rules", "project", "hooks", "audit", "approvals"}
    # [server] and [gateway] are read by `interlock serve` alone (server/, gateway/settings.py),
    # [vault] by `interlock vault drill` (vault/drills.py)
    unknown = set(data) - known - {"server", "gateway", "vault"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(sorted(unknown))}")
    return Policy(
        project_root=project_root,
        default_environment=default_env,
        production=tuple(p.lower() for p in production),
        hosts=hosts,
        inventory=inventory,
        rules=rules,
        approvals=approvals,
        revision=revision,
        source=source,
        vaults=vaults,
    )


def _vault_folders(raw: Any, config_dir: Path) -> tuple[str, ...]:
    """``[vault] location`` when it is a folder (relative to the config file), as
    vault/settings.py reads it; the section's other keys are checked by that parser."""
    location = raw.get("location") if isinstance(raw, dict) else None
    if not isinstance(location, str) or not location.strip() or "://" in location:
        return ()
    return (os.path.normpath(config_dir / Path(location.strip()).expanduser()),)


def _approvals(raw: dict[str, Any], where: str) -> Approvals:
    unknown = set(raw) - {"server", *_APPROVAL_LIMITS}
    if unknown:
        raise ConfigError(f"{where}: approvals has unknown key(s) {', '.join(sorted(unknown))}")
    server = os.environ.get("INTERLOCK_SERVER") or raw.get("server")
    if server is not None and not (
        isinstance(server, str) and server.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{where}: approvals.server must be an http(s) URL")
    values: dict[str, Any] = {}
    for key, (low, high) in _APPROVAL_LIMITS.items():
        if key not in raw:
            continue
        value = raw[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(f"{where}: approvals.{key} must be a number from {low:g} to {high:g}")
        values[key] = int(value) if "quorum" in key else float(value)
    return Approvals(server=server.rstrip("/") if server else None, **values)


_INVENTORY_KEYS = {kind + "s": kind for kind in KINDS}


def _inventory(raw: dict[str, Any], where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """``[inventory.<env>]`` tables: ``hosts = [...]``, ``databases = [...]``, … per environment."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for env, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [inventory.{env}] must be a table of lists")
        kinds: dict[str, tuple[str, ...]] = {}
        for key, patterns in table.items():
            if key not in _INVENTORY_KEYS:
                known = ", ".join(sorted(_INVENTORY_KEYS))
                raise ConfigError(f"{where}: inventory.{env}.{key} is not one of {known}")
            if not (isinstance(patterns, list) and all(isinstance(p, str) for p in patterns)):
                raise ConfigError(f"{where}: inventory.{env}.{key} must be a list of patterns")
            kinds[_INVENTORY_KEYS[key]] = tuple(patterns)
        out[env] = kinds
    return out


_RULE_KEYS = {"id", "decision", "operation", "path", "environment", "reason"}
_RULE_INTS = {"quorum"}


def _rule(raw: Any, index: int, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: rules[{index}] must be a table")
    unknown = set(raw) - _RULE_KEYS - _RULE_INTS
    if unknown:
        raise ConfigError(
            f"{where}: rules[{index}] has unknown key(s) {', '.join(sorted(unknown))}"
        )
    if "decision" not in raw:
        raise ConfigError(f"{where}: rules[{index}] needs a decision (allow, ask or deny)")
    for key in _RULE_KEYS:
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: rules[{index}].{key} must be a string")
    quorum = raw.get("quorum")
    if quorum is not None and (
        isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= 10
    ):
        raise ConfigError(f"{where}: rules[{index}].quorum must be a whole number from 1 to 10")
    return Rule(
        id=raw.get("id", f"rules[{index}]"),
        decision=Verdict.parse(raw["decision"]),
        operation=raw.get("operation", "*"),
        path=raw.get("path"),
        environment=raw.get("environment"),
        reason=raw.get("reason", ""),
        quorum=quorum,
    )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key} must be an array of tables ([[{key}]])")
    return value
