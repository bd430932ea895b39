"""Entry point of the hook process: ``python -m interlock.hooks <agent>``.

1. Read the payload (at most 1 MB + 1 byte; the runner judges size and shape).
2. Fast path: a warm Interlock process answers over a Unix socket (:mod:`.client`); the first
   call of a session starts it in the background.
3. Otherwise, or if anything about the fast path fails, decide in this process.

Everything is guarded, the imports included: a broken install must still answer with exit 2
(a block), because exit 1 or a traceback lets the agent's command run (realclients.md).
"""

from __future__ import annotations

import sys

_MAX = 1_000_000


def _main() -> int:
    try:
        argv = sys.argv[1:]
        if len(argv) != 1:
            from interlock.hooks.runner import main

            return main(argv)
        payload = sys.stdin.buffer.read(_MAX + 1)
        from interlock.hooks import client

        if client.enabled():
            answer = client.ask(argv[0], payload)
            if answer is not None:
                code, out, err = answer
                sys.stdout.buffer.write(out)
                sys.stdout.buffer.flush()
                sys.stderr.buffer.write(err)
                sys.stderr.buffer.flush()
                return code
            client.spawn()
        import io

        from interlock.hooks.runner import emit, run

        return emit(run(argv[0], io.BytesIO(payload)))
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
