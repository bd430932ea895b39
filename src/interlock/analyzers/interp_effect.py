"""What an interpreter one-liner does: :class:`Effect`, the result type of :mod:`.interpreters`.

Both readers (:mod:`.interp_python` for Python, :mod:`.interp_calls` for the token languages)
reduce code to the same small vocabulary (delete, write, shell, sql, http, opaque), so the
shell analyzer (:mod:`.effects`) judges a ``python -c`` and a ``perl -e`` with one set of rules.
It lives apart from both readers so that neither imports the other, nor the facade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Effect", "EffectKind", "Language", "sql_dialect"]

Language = Literal[
    "python", "node", "perl", "ruby", "php", "deno", "lua", "r", "applescript", "powershell"
]
EffectKind = Literal["delete", "shell", "sql", "http", "write", "opaque", "api"]


@dataclass(frozen=True)
class Effect:
    """One thing a one-liner does to the world."""

    kind: EffectKind
    target: str | None = None
    """Path, shell command, SQL text, URL or API call (``delete_bucket(Bucket='x')``); None
    when the code does not spell it out."""
    recursive: bool = False
    """For ``delete``: a whole tree (``shutil.rmtree``, ``rm -rf``-like options)."""
    method: str | None = None
    """For ``http``: the request method, upper case."""
    detail: str = ""
    """The call it came from: ``shutil.rmtree``, ``os.system``, ``sqlite3:execute``."""


_DB_DIALECTS = {
    "sqlite3": "sqlite",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "mysql": "mysql",
    "mysql2": "mysql",
    "mysqli": "mysql",
    "redis": "redis",
    "pymongo": "mongodb",
}


def sql_dialect(effect: Effect) -> str:
    """The SQL dialect of a ``sql`` effect, from the module named in its detail (default postgres)."""
    module = effect.detail.split(":", 1)[0].split(".", 1)[0]
    return _DB_DIALECTS.get(module, "postgres")
