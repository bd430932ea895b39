"""Effects of interpreter one-liners: ``python -c``, ``node -e``, ``perl -e``, ``ruby -e``, ``php -r``, ``deno eval``.

Guards that match strings miss ``python -c 'import shutil; shutil.rmtree(...)'`` entirely
(issue 2, ../shared/notes/peers.md), so a one-liner is read for what it *does*: files it
deletes or writes, shell commands, SQL and HTTP requests it sends. This module returns
:class:`Effect` values, not findings; the shell analyzer classifies the paths, recurses into
shell strings and hands SQL and HTTP to their analyzers.

This is the public facade; the work is done in modules behind it:

- :mod:`.interp_effect`: :class:`Effect`, the result type, and :func:`sql_dialect`.
- :mod:`.interp_python`: Python, read with the ``ast`` module, resolving ``import shutil as
  s``, ``from os import remove`` and ``__import__("os")``.
- :mod:`.interp_lexer`: the token lexer for the other languages; it skips comments, reads
  string literals (and the code inside ``${…}`` / ``#{…}`` interpolations).
- :mod:`.interp_calls`: reads calls from those tokens and turns them into effects.
- :mod:`.interp_tables`: which calls do what, per language (data).
- :mod:`.interp_misc`: Lua, R, AppleScript and PowerShell, each read by a small reader of its own.

Fail closed: an argument that is not a literal gives an effect whose ``target`` is None (the
shell analyzer asks), code that builds code (``eval(x)``, ``exec(x)``, ``require(x)``) is an
``opaque`` effect, and code the scanner cannot read (a syntax error, an unclosed string) is
one ``opaque`` effect.
"""

from __future__ import annotations

from interlock.analyzers.interp_calls import scan_tokens
from interlock.analyzers.interp_effect import Effect, EffectKind, Language, sql_dialect
from interlock.analyzers.interp_lexer import Token, lex
from interlock.analyzers.interp_python import scan_python

__all__ = ["Effect", "EffectKind", "Language", "Token", "lex", "scan", "sql_dialect"]


def scan(language: Language, code: str) -> list[Effect]:
    """The effects of ``code`` run by ``language``'s interpreter, in source order."""
    if language == "python":
        return scan_python(code)
    if language in ("lua", "r", "applescript", "powershell"):
        from interlock.analyzers.interp_misc import scan_misc

        return scan_misc(language, code)
    return scan_tokens(language, code)
