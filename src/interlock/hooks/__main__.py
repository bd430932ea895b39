"""Entry point of the hook process: ``python -m interlock.hooks <agent>``.

1. Read the payload (at most 1 MB + 1 byte; the runner judges size and shape).
2. Fast path: a warm Interlock process answers over a Unix socket (:mod:`.client`); the first
   call of a session starts it in the background. A call that may wait for approvers is
   handed back and decided here.
3. Otherwise, or if anything about the fast path fails, decide in this process.

Everything is guarded, the imports included: a broken install must still answer with exit 2
(a block), because exit 1 or a traceback lets the agent's command run (realclients.md).
"""

from __future__ import annotations

import sys

_MAX = 1_000_000
_DEADLINE = 20.0


def _deadline() -> float:
    import os

    try:
        value = float(os.environ.get("INTERLOCK_HOOK_DEADLINE", _DEADLINE))
    except ValueError:
        return _DEADLINE
    return value if 0 < value <= 600 else _DEADLINE


def _read_stdin(limit: int) -> bytes:
    """At most ``limit`` bytes of stdin, or TimeoutError once the hook's deadline passes.

    A hook the agent kills for taking too long lets the command run, so a stalled writer must
    end in a deny, not a hang.
    """
    import os
    import select
    import time

    fd = sys.stdin.fileno()
    end = time.monotonic() + _deadline()
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        remaining = end - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _Stalled:
    """Stands in for stdin when the agent never finished writing: the runner denies."""

    def read(self, size: int = -1) -> bytes:
        from interlock.hooks.runner import HookDeadline

        raise HookDeadline(
            f"the hook did not finish within {_deadline():g} s (the agent sent no complete payload)"
        )


def _main() -> int:
    try:
        argv = sys.argv[1:]
        if len(argv) != 1:
            from interlock.hooks.runner import main

            return main(argv)
        try:
            payload = _read_stdin(_MAX + 1)
        except TimeoutError:
            from interlock.hooks.runner import emit, run

            return emit(run(argv[0], _Stalled()))  # type: ignore[arg-type]
        from interlock.hooks import client

        if client.enabled():
            answer = client.ask(argv[0], payload)
            if isinstance(answer, tuple):
                code, out, err = answer
                sys.stdout.buffer.write(out)
                sys.stdout.buffer.flush()
                sys.stderr.buffer.write(err)
                sys.stderr.buffer.flush()
                return code
            if answer is None:
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
