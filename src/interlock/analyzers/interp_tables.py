"""Call tables: which calls in each interpreter delete, write, run commands, send SQL or HTTP.

These are data, kept apart from the code that reads calls (style rule 8: catalogs are data),
so a missed destructive call is fixed by adding a row here. :class:`Rule` rows are read by
:mod:`.interp_calls` for node/deno, perl, ruby and php; the ``PY_*`` name sets are read by
:mod:`.interp_python`, which resolves Python's imports to dotted names first.

Generic names (``rm``, ``exec``, ``query``) carry a ``guard``: they count only when their
module is named in the code, so ``arr.exec()`` in plain JavaScript stays quiet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from interlock.analyzers.interp_effect import EffectKind

__all__ = [
    "PY_DB",
    "PY_DELETE",
    "PY_HTTP",
    "PY_OPAQUE",
    "PY_SHELL_FIRST",
    "TABLES",
    "Rule",
    "db_module",
]


@dataclass(frozen=True)
class Rule:
    """What a call of one name does in one language, and when the name counts."""

    kind: EffectKind
    mode: str
    """How arguments become targets: path, paths, shell, shell0, cmdargs, eval, dynamic,
    opaque, sql, fetch, deno_command, deno_run, perl_open, callback."""
    recursive: bool | None = False
    """None: recursive when the call's options say ``recursive: true``."""
    guard: str = ""
    """For generic names (``rm``, ``exec``): a module that must appear in the code."""
    receiver: str = "any"
    """"some": only as a method (``$pdo->exec``); "none": only as a bare call (``exec "…"``)."""


# ------------------------------------------------------------------ node and deno, perl, ruby, php

_FS, _CP = r"(node:)?fs(/promises)?|fs-extra", r"(node:)?child_process"
_DBJS = r"pg|postgres|mysql2?|sqlite3?|better-sqlite3|mssql"
_DB = r"DBI|dbi:\w+:.*|pg|mysql2?|sqlite3|PG|Mysql2|SQLite3|ActiveRecord|Sequel|PDO|mysqli"
_NODE: dict[str, tuple[Rule, ...]] = {
    **dict.fromkeys(
        ["rmSync", "rmdirSync", "Deno.remove", "Deno.removeSync"], (Rule("delete", "path", None),)
    ),
    "unlinkSync": (Rule("delete", "path"),),
    **dict.fromkeys(["rm", "rmdir"], (Rule("delete", "path", None, _FS),)),
    "unlink": (Rule("delete", "path", False, _FS),),
    **dict.fromkeys(
        ["remove", "removeSync", "emptyDir", "emptyDirSync"],
        (Rule("delete", "path", True, "fs-extra"),),
    ),
    **dict.fromkeys(["rimraf", "rimrafSync"], (Rule("delete", "path", True, "rimraf"),)),
    "execSync": (Rule("shell", "shell0"),),
    "exec": (
        Rule("shell", "shell0", guard=_CP),
        Rule("sql", "sql", guard=_DBJS, receiver="some"),
    ),
    **dict.fromkeys(["spawnSync", "execFileSync"], (Rule("shell", "cmdargs"),)),
    **dict.fromkeys(["spawn", "execFile"], (Rule("shell", "cmdargs", guard=_CP),)),
    "fork": (Rule("opaque", "opaque", guard=_CP),),
    "eval": (Rule("opaque", "eval"),),
    "Function": (Rule("opaque", "eval"),),
    **dict.fromkeys(["require", "import"], (Rule("opaque", "dynamic"),)),
    **dict.fromkeys(
        [
            "runInThisContext",
            "runInNewContext",
            "runInContext",
            "compileFunction",
            "process.binding",
        ],
        (Rule("opaque", "opaque"),),
    ),
    **dict.fromkeys(
        [
            "writeFileSync",
            "appendFileSync",
            "truncateSync",
            "Deno.writeTextFile",
            "Deno.writeTextFileSync",
            "Deno.writeFile",
            "Deno.writeFileSync",
            "Deno.truncate",
            "Deno.truncateSync",
        ],
        (Rule("write", "path"),),
    ),
    **dict.fromkeys(["writeFile", "appendFile", "truncate"], (Rule("write", "path", guard=_FS),)),
    "fetch": (Rule("http", "fetch"),),
    "Deno.Command": (Rule("shell", "deno_command"),),
    "Deno.run": (Rule("shell", "deno_run"),),
    **dict.fromkeys(["query", "execute"], (Rule("sql", "sql", guard=_DBJS, receiver="some"),)),
}
_PERL: dict[str, tuple[Rule, ...]] = {
    **dict.fromkeys(["unlink", "rmdir"], (Rule("delete", "paths"),)),
    **dict.fromkeys(["rmtree", "remove_tree"], (Rule("delete", "paths", True),)),
    **dict.fromkeys(["system", "exec"], (Rule("shell", "shell"),)),
    "open": (Rule("shell", "perl_open"),),
    "eval": (Rule("opaque", "eval"),),
    **dict.fromkeys(
        ["do", "prepare", "selectall_arrayref", "selectrow_array"],
        (Rule("sql", "sql", guard=_DB, receiver="some"),),
    ),
}
_RUBY: dict[str, tuple[Rule, ...]] = {
    **dict.fromkeys(
        [
            "FileUtils.rm_rf",
            "FileUtils.rm_r",
            "FileUtils.remove_dir",
            "FileUtils.remove_entry",
            "FileUtils.remove_entry_secure",
            "FileUtils.rmtree",
            "rmtree",
        ],
        (Rule("delete", "paths", True),),
    ),
    **dict.fromkeys(
        [
            "FileUtils.rm",
            "FileUtils.rm_f",
            "FileUtils.remove",
            "FileUtils.rmdir",
            "FileUtils.safe_unlink",
            "File.delete",
            "File.unlink",
            "Dir.rmdir",
            "Dir.delete",
            "Dir.unlink",
        ],
        (Rule("delete", "paths"),),
    ),
    **dict.fromkeys(
        [
            "system",
            "spawn",
            "Process.spawn",
            "Process.exec",
            "IO.popen",
            "Open3.capture2",
            "Open3.capture2e",
            "Open3.capture3",
            "Open3.popen2",
            "Open3.popen3",
            "Kernel.system",
            "Kernel.exec",
        ],
        (Rule("shell", "shell"),),
    ),
    "exec": (
        Rule("shell", "shell", receiver="none"),
        Rule("sql", "sql", guard=_DB, receiver="some"),
    ),
    **dict.fromkeys(
        ["eval", "instance_eval", "class_eval", "module_eval"], (Rule("opaque", "eval"),)
    ),
    **dict.fromkeys(["send", "public_send", "__send__", "const_get"], (Rule("opaque", "dynamic"),)),
    **dict.fromkeys(["File.write", "IO.write"], (Rule("write", "path"),)),
    **dict.fromkeys(
        ["execute", "query", "exec_query", "exec_params"],
        (Rule("sql", "sql", guard=_DB, receiver="some"),),
    ),
}
_PHP: dict[str, tuple[Rule, ...]] = {
    **dict.fromkeys(["unlink", "rmdir"], (Rule("delete", "paths"),)),
    **dict.fromkeys(
        ["shell_exec", "system", "passthru", "popen", "proc_open", "pcntl_exec"],
        (Rule("shell", "shell0", receiver="none"),),
    ),
    "exec": (
        Rule("shell", "shell0", receiver="none"),
        Rule("sql", "sql", guard=_DB, receiver="some"),
    ),
    **dict.fromkeys(
        ["eval", "assert", "create_function"], (Rule("opaque", "eval", receiver="none"),)
    ),
    "file_put_contents": (Rule("write", "path"),),
    **dict.fromkeys(["mysqli_query", "pg_query", "pg_exec", "sqlite_exec"], (Rule("sql", "sql"),)),
    **dict.fromkeys(["query", "multi_query"], (Rule("sql", "sql", receiver="some"),)),
    **dict.fromkeys(["call_user_func", "call_user_func_array"], (Rule("opaque", "callback"),)),
}
TABLES = {"node": _NODE, "deno": _NODE, "perl": _PERL, "ruby": _RUBY, "php": _PHP}


def db_module(mentioned: set[str]) -> str:
    """The database driver named in the code (a DBI DSN, a module), for a ``sql`` effect's detail."""
    for text in mentioned:
        m = re.match(r"dbi:(\w+):", text, re.IGNORECASE)
        if m:
            return {"pg": "pg", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite3"}.get(
                m.group(1).lower(), m.group(1)
            )
    for name in (
        "sqlite3",
        "better-sqlite3",
        "mysql2",
        "mysql",
        "mysqli",
        "pg",
        "PG",
        "Mysql2",
        "SQLite3",
    ):
        if name in mentioned:
            return {
                "better-sqlite3": "sqlite3",
                "SQLite3": "sqlite3",
                "Mysql2": "mysql2",
                "PG": "pg",
            }.get(name, name)
    return "unknown"


# ---------------------------------------------------------------------------------------- Python

PY_DELETE = {
    "shutil.rmtree": True,
    "os.remove": False,
    "os.unlink": False,
    "os.rmdir": False,
    "os.removedirs": False,
    "pathlib.Path.unlink": False,
    "pathlib.Path.rmdir": False,
}
PY_SHELL_FIRST = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "pty.spawn",
        "commands.getoutput",
        "os.execv",
        "os.execve",
        "os.execvp",
        "os.execvpe",
        "os.posix_spawn",
        "os.posix_spawnp",
        "os.spawnv",
        "os.spawnve",
        "os.spawnvp",
        "os.spawnvpe",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execlpe",
        "os.spawnl",
        "os.spawnle",
        "os.spawnlp",
        "os.spawnlpe",
        "asyncio.create_subprocess_exec",
    }
)
PY_DB = (
    "sqlite3",
    "psycopg",
    "psycopg2",
    "pymysql",
    "MySQLdb",
    "mysql",
    "asyncpg",
    "sqlalchemy",
    "pg8000",
    "duckdb",
    "aiosqlite",
)
PY_HTTP = ("requests", "httpx")
PY_OPAQUE = frozenset(
    {
        "ctypes.CDLL",
        "ctypes.cdll.LoadLibrary",
        "pickle.loads",
        "marshal.loads",
        "ctypes.PyDLL",
        "runpy.run_path",
        "runpy.run_module",
    }
)
