"""Progress bars: the right totals and advances, drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from interlock.cli import cli
from interlock.vault import Repository
from interlock.vault.progress import bar
from interlock.vault.sources import read_pieces


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_size_total_and_rate() -> None:
    screen = Terminal()
    with bar("restore abc", 3_000_000, stream=screen) as progress:
        for _ in range(3):
            progress(1_000_000)
        assert progress.drawn is not None
        assert (progress.drawn.n, progress.drawn.total) == (3_000_000, 3_000_000)
    shown = screen.getvalue()
    assert "restore abc" in shown and "3.00M/3.00M" in shown and "B/s" in shown
    assert progress.done == progress.total == 3_000_000


def test_anything_but_a_terminal_gets_nothing_drawn() -> None:
    log = io.StringIO()
    with bar("backup app", None, stream=log) as progress:
        progress(5)
        progress(7)
    assert progress.drawn is None and progress.done == 12
    assert log.getvalue() == ""


def test_show_forces_either_way() -> None:
    log, screen = io.StringIO(), Terminal()
    with bar("verify", None, stream=log, show=True) as drawn:
        drawn(10)
    with bar("verify", None, stream=screen, show=False) as hidden:
        hidden(10)
    assert drawn.drawn is not None and "verify" in log.getvalue()
    assert hidden.drawn is None and screen.getvalue() == ""


def test_streams_advance_by_every_plaintext_byte_written_and_read(
    repository: Repository, tmp_path: Path
) -> None:
    data = os.urandom(10_000)  # ten 1 KB chunks (the test vault's chunk size)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    seen: list[int] = []
    with source.open("rb") as handle:
        stream = repository.write_stream(read_pieces(handle, repository.chunk_size), seen.append)
    assert sum(seen) == len(data) and len(seen) == len(stream.chunks) == 10
    read: list[int] = []
    assert b"".join(repository.read_stream(stream, read.append)) == data
    assert read == [chunk.size for chunk in stream.chunks]


def test_the_cli_draws_nothing_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a").write_bytes(os.urandom(50_000))
    vault = str(tmp_path / "vault")
    done = CliRunner().invoke(
        cli, ["vault", "backup", "--folder", str(folder), "--name", "d", "--vault", vault]
    )
    assert done.exit_code == 0, done.output
    assert "\r" not in done.output and "[00:" not in done.output  # no bar, no elapsed time


def test_the_cli_draws_bars_on_a_terminal_and_tqdm_stays_unloaded_elsewhere(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a").write_bytes(os.urandom(300_000))
    vault = str(tmp_path / "vault")
    env = {**os.environ, "INTERLOCK_VAULT": vault}
    env.pop("INTERLOCK_VAULT_KEY", None)
    run = [str(Path(sys.executable).with_name("interlock"))]
    main, secondary = pty.openpty()  # a terminal of 0 x 0: the bar takes 80 x 24
    try:
        done = subprocess.run(
            [*run, "vault", "backup", "--folder", str(folder), "--name", "d"],
            stdout=subprocess.PIPE,
            stderr=secondary,
            env=env,
            timeout=60,
            check=False,
        )
        os.close(secondary)
        screen = b""
        while True:
            try:
                got = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not got:
                break
            screen += got
    finally:
        os.close(main)
    assert done.returncode == 0, screen.decode(errors="replace")
    shown = screen.decode(errors="replace")
    assert "\rbackup d: 300kB [00:0" in shown and "B/s]" in shown  # size, elapsed, rate
    assert b"\r" not in done.stdout  # the summary line on stdout stays clean

    probe = (
        "import sys\n"
        "from interlock.cli import main\n"
        "code = main(['vault', 'verify'])\n"
        "print('tqdm' in sys.modules, code)\n"
    )
    quiet = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert quiet.stdout.strip().splitlines()[-1] == "False 0", quiet.stderr
