"""Entry point of the hook process: ``python -m interlock.hooks <agent>``.

The import of the runner is itself guarded: a broken install must still answer with exit 2
(a block), because exit 1 or a traceback lets the agent's command run (realclients.md).
"""

from __future__ import annotations

import sys


def _main() -> int:
    try:
        from interlock.hooks.runner import main

        return main(sys.argv[1:])
    except BaseException as exc:  # fail closed, even on an import error
        try:
            sys.stderr.write(
                f"Interlock blocked this call because its hook failed to start "
                f"({type(exc).__name__}: {str(exc)[:300]}). Reinstall with `interlock init`; "
                "a person can run the command themselves.\n"
            )
        finally:
            return 2  # noqa: B012 - the exit status must be 2 whatever happened above


if __name__ == "__main__":
    sys.exit(_main())
