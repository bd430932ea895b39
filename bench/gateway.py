"""The gateway's cost, against calling the upstream directly in the same run (issue 6 item 8).

    .venv/bin/python bench/gateway.py                     # about 1 minute
    .venv/bin/python bench/gateway.py --json              # one JSON object instead
    .venv/bin/python bench/gateway.py --requests 400      # quick look

Targets, for allowed requests at 200 requests per second (paced, open loop: each call is due
at i/200 s and its latency counts from then, so a gateway falling behind shows):

- added latency p50 <= 2 ms and p99 <= 10 ms: the gateway's percentile minus the direct
  call's, for the same calls to the same upstream process, phases alternating;
- the Railway resolver's cache hit rate on a repeated workload (GraphQL reads naming 20
  volumes over and over, starting cold), worked out from the look-ups that reached the
  upstream. The latency phases run with the resolver warm: a miss waits for one look-up at
  Railway, which is the provider's latency, not the gateway's (the report shows it apart).

Two kinds of allowed request: ``GET /items`` on a generic upstream, and a Railway GraphQL read
``volume(id) { name }`` (the gateway finds the volume's environment before forwarding). Both
go through everything a request meets: the kill switch, the token (a database read), the
broker credential (a database read and AES-GCM), the analysis, the environment check, the
forward with the credential, the reply's scrub and the audit record.

Everything runs on this machine's cores: the load generator (bench/approval_http.py), the
upstream (bench/gateway_upstream.py) and `interlock serve`, each its own process. Targets are
reported, never enforced: the exit status is 1 only when the benchmark itself broke.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from approval_http import Call, Ran, fetch, run
from approval_server import Server, free_port, serving
from stats import Summary, fmt

RATE = 200.0
CONNECTIONS = 16
VOLUMES = 20
ADDED_P50_MS = 2.0
ADDED_P99_MS = 10.0
TOKEN_ENV = "staging"


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="calls per phase")
    parser.add_argument("--rounds", type=int, default=2, help="passes over every phase")
    parser.add_argument("--rate", type=float, default=RATE, help="calls/s of each phase")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the venv")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    return parser.parse_args(argv)


# --- set-up ------------------------------------------------------------------------------------


@contextmanager
def upstream(python: str, log: Path) -> Iterator[int]:
    """bench/gateway_upstream.py on a free port, in its own process group."""
    port = free_port()
    script = Path(__file__).resolve().parent / "gateway_upstream.py"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, str(script), str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(port, Call("GET", "/items")).status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the upstream did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


def configure(project: Path, data_dir: Path, upstream_port: int) -> str:
    """interlock.toml with two upstreams, the broker's credentials, an agent token."""
    from interlock.broker import keys
    from interlock.broker.credentials import Credentials
    from interlock.broker.tokens import Tokens
    from interlock.server import db

    (project / ".git").mkdir(parents=True)
    url = f"http://127.0.0.1:{upstream_port}"
    (project / "interlock.toml").write_text(
        f"""\
[gateway.upstreams.api]
url = "{url}"
credential = "api"

[gateway.upstreams.railway]
url = "{url}"
provider = "railway"
credential = "railway"
"""
    )
    data_dir.mkdir(parents=True, mode=0o700)
    engine = db.connect(db.sqlite_url(data_dir))
    db.migrate(engine)
    key = keys.load(data_dir)
    credentials = Credentials(engine, key)
    credentials.add("api", "api", "sk_live_" + secrets.token_urlsafe(24))
    credentials.add("railway", "railway", "rw_" + secrets.token_urlsafe(24))
    token, _ = Tokens(engine).issue(
        "bench", "bench-session", TOKEN_ENV, upstreams=("api", "railway")
    )
    engine.dispose()
    return token


# --- the calls ---------------------------------------------------------------------------------


def rest_calls(count: int, token: str | None) -> list[Call]:
    if token is None:
        return [Call("GET", "/items") for _ in range(count)]
    auth = (("Authorization", f"Bearer {token}"),)
    return [Call("GET", "/gateway/api/items", headers=auth) for _ in range(count)]


def graphql_calls(count: int, token: str | None, prefix: str = "vol-") -> list[Call]:
    """Reads of ``VOLUMES`` volumes in turn (``prefix``: the warm-up names others)."""
    path = "/graphql/v2" if token is None else "/gateway/railway/graphql/v2"
    headers = () if token is None else (("Authorization", f"Bearer {token}"),)
    calls = []
    for i in range(count):
        body = {
            "query": "query V($id: String!) { volume(id: $id) { name } }",
            "variables": {"id": f"{prefix}{i % VOLUMES:03d}"},
        }
        calls.append(Call("POST", path, json.dumps(body).encode(), headers))
    return calls


def system_seconds(server: Server) -> float:
    """System (kernel) CPU of the server so far: sockets, fsyncs."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


def checked(direct: Ran, through: Ran) -> list[str]:
    """Every answer 200, and the gateway's the same bytes the upstream gave directly."""
    problems = direct.problems + through.problems
    for index, (a, b) in enumerate(zip(direct.answers, through.answers, strict=True)):
        if a.body != b.body:
            problems.append(f"call {index}: the gateway's answer differs: {b.body[:120]!r}")
            break
    return problems


# --- the run -----------------------------------------------------------------------------------


def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    project, data_dir = root / "project", root / "data"
    os.environ["INTERLOCK_BROKER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    interlock = Path(args.python).with_name("interlock")
    with upstream(args.python, root / "upstream.log") as up_port:
        token = configure(project, data_dir, up_port)
        with serving(interlock, project, data_dir, None, root / "serve.log") as server:
            # Warms the gateway and its resolver for the latency phases' 20 volumes.
            for calls in (rest_calls(200, token), graphql_calls(VOLUMES, token)):
                run("warm-up", server.port, calls, 4)
            result = phases(args, server, up_port, token)
            result["resolver"] = repeated(args, server, up_port, token)
            return result


def phases(args: argparse.Namespace, server: Server, up_port: int, token: str) -> dict[str, Any]:
    """Direct and through the gateway, alternating, ``rounds`` times; the resolver warm."""
    series: dict[str, list[int]] = {}
    each: list[str] = []
    problems: list[str] = []
    cpu: dict[str, float] = {"rest": 0.0, "graphql": 0.0}
    system: dict[str, float] = {"rest": 0.0, "graphql": 0.0}
    sent = {"rest": 0, "graphql": 0}
    for _ in range(args.rounds):
        for kind, make in (("rest", rest_calls), ("graphql", graphql_calls)):
            direct = run(
                f"{kind} direct", up_port, make(args.requests, None), CONNECTIONS, args.rate
            )
            before, before_system = server.cpu_seconds(), system_seconds(server)
            through = run(
                f"{kind} gateway", server.port, make(args.requests, token), CONNECTIONS, args.rate
            )
            cpu[kind] += server.cpu_seconds() - before
            system[kind] += system_seconds(server) - before_system
            sent[kind] += args.requests
            problems += checked(direct, through)
            series.setdefault(f"{kind} direct", []).extend(direct.latencies_ns)
            series.setdefault(f"{kind} gateway", []).extend(through.latencies_ns)
            for ran in (direct, through):
                one = Summary.of(ran.name, ran.latencies_ns)
                each.append(
                    f"{ran.name:<16} p50 {fmt(one.median_ns, 'ms'):>9}  p99 {fmt(one.p99_ns, 'ms'):>9}"
                )
    summaries = {name: Summary.of(name, values) for name, values in series.items()}
    return {
        "summaries": summaries,
        "phases": each,
        "problems": problems,
        "server_cpu_ms_per_request": {k: 1000 * cpu[k] / sent[k] for k in cpu},
        "server_system_ms_per_request": {k: 1000 * system[k] / sent[k] for k in system},
    }


def repeated(args: argparse.Namespace, server: Server, up_port: int, token: str) -> dict[str, Any]:
    """The resolver on a repeated workload from cold: reads of 20 volumes it has not seen,
    over and over, paced like the rest. Each object looked up at the upstream is a miss."""
    before = fetch(up_port, Call("GET", "/stats")).json()
    calls = graphql_calls(args.requests, token, "vol-rep-")
    ran = run("resolver", server.port, calls, CONNECTIONS, args.rate)
    after = fetch(up_port, Call("GET", "/stats")).json()
    looked_up = after["looked_up"] - before["looked_up"]
    # A volume's first reads wait for the look-up (those sent before it came back share it).
    first = [ran.latencies_ns[i] for i in range(min(VOLUMES, len(calls)))]
    rest = ran.latencies_ns[VOLUMES:]
    return {
        "requests": len(calls),
        "volumes": VOLUMES,
        "looked_up": looked_up,
        "lookups": after["lookups"] - before["lookups"],
        "hit_rate": 1 - looked_up / len(calls),
        "first_reads_p50_ms": Summary.of("first", first).median_ns / 1e6,
        "later_reads_p50_ms": Summary.of("later", rest).median_ns / 1e6 if rest else 0.0,
        "problems": ran.problems,
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    summaries: dict[str, Summary] = result["summaries"]
    for kind in ("rest", "graphql"):
        direct, through = summaries[f"{kind} direct"], summaries[f"{kind} gateway"]
        added50 = (through.median_ns - direct.median_ns) / 1e6
        added99 = (through.p99_ns - direct.p99_ns) / 1e6
        rows.append(
            {
                "kind": kind,
                "direct": direct.as_dict("ms"),
                "gateway": through.as_dict("ms"),
                "added_p50_ms": round(added50, 3),
                "added_p99_ms": round(added99, 3),
                "p50": "PASS" if added50 <= ADDED_P50_MS else "FAIL",
                "p99": "PASS" if added99 <= ADDED_P99_MS else "FAIL",
            }
        )
    return rows


def render(result: dict[str, Any], rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    summaries: dict[str, Summary] = result["summaries"]
    lines = [
        f"Gateway overhead at {args.rate:g} calls/s (paced), {args.requests} calls per phase, "
        f"{args.rounds} round(s), {CONNECTIONS} connections",
        "",
        f"{'calls':<16}{'direct p50':>12}{'direct p99':>12}{'gateway p50':>13}"
        f"{'gateway p99':>13}{'added p50':>11}{'added p99':>11}",
    ]
    for row in rows:
        kind = row["kind"]
        d, g = summaries[f"{kind} direct"], summaries[f"{kind} gateway"]
        lines.append(
            f"{kind:<16}{fmt(d.median_ns, 'ms'):>12}{fmt(d.p99_ns, 'ms'):>12}"
            f"{fmt(g.median_ns, 'ms'):>13}{fmt(g.p99_ns, 'ms'):>13}"
            f"{row['added_p50_ms']:>8.2f} ms{row['added_p99_ms']:>8.2f} ms"
        )
    lines.append("")
    for row in rows:
        lines.append(
            f"{row['p50']}  {row['kind']}: added p50 {row['added_p50_ms']:.2f} ms "
            f"(target <= {ADDED_P50_MS:g} ms)"
        )
        lines.append(
            f"{row['p99']}  {row['kind']}: added p99 {row['added_p99_ms']:.2f} ms "
            f"(target <= {ADDED_P99_MS:g} ms)"
        )
    resolver = result["resolver"]
    lines += ["", "Each phase, in the order run:", *result["phases"]]
    lines += [
        "",
        f"Resolver cache hit rate: {100 * resolver['hit_rate']:.2f} % on a repeated workload "
        f"from cold ({resolver['requests']} reads of {resolver['volumes']} volumes at "
        f"{args.rate:g}/s; {resolver['looked_up']} objects looked up at the upstream in "
        f"{resolver['lookups']} look-ups). First reads of each volume p50 "
        f"{resolver['first_reads_p50_ms']:.2f} ms, later reads p50 "
        f"{resolver['later_reads_p50_ms']:.2f} ms",
        "Server CPU per gateway request (of which in the kernel): "
        + ", ".join(
            f"{k} {v:.2f} ms ({result['server_system_ms_per_request'][k]:.2f} ms)"
            for k, v in result["server_cpu_ms_per_request"].items()
        ),
    ]
    if result["problems"]:
        lines += ["", "PROBLEMS (the run is not valid):", *result["problems"][:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    root = Path(tempfile.mkdtemp(prefix="interlock-gateway-bench-"))
    try:
        result = measure(args, root)
    except Exception as exc:
        print(f"bench/gateway.py broke: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = targets(result)
    if args.json:
        out = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "rate": args.rate,
            "requests": args.requests,
            "rounds": args.rounds,
            "targets": rows,
            "resolver": result["resolver"],
            "server_cpu_ms_per_request": result["server_cpu_ms_per_request"],
            "server_system_ms_per_request": result["server_system_ms_per_request"],
            "problems": result["problems"],
        }
        print(json.dumps(out, indent=2))
    else:
        print(render(result, rows, args))
    return 1 if result["problems"] or result["resolver"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
