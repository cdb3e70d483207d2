"""API load benchmark on localhost: read latency under 50 clients, 20 runs submitted at once.

Starts ``schoolplan serve`` in a subprocess on 127.0.0.1 (a free port, a temp data dir, a
generated 200-unit county), stores two finished catchment runs, then measures:

0. **server CPU per request**: sequential GETs of each endpoint, the server process's CPU time
   (``/proc/<pid>/stat``) divided by the request count; what one read costs the service;
1. **paced reads, synchronised bursts** (the worst case): 50 clients, each a dashboard sending
   one request every 0.5 s (~100 requests/s offered), all clients firing at the same instant;
2. **paced reads, random phases**: the same load, each client's phase drawn (seeded) within the
   period, as real dashboards are not synchronised;
3. **saturation**: the same 50 clients back to back, no pause: the service's capacity;
4. **submissions**: 20 catchment runs posted at once, polled until every one has finished →
   all accounted for (done / failed / lost), wall time.

Reads go to four endpoints: run status, assignment JSON, map.png, compare of 2 runs; every
request sends the full body (no ``If-None-Match``). The load generator is ``hey`` (Debian
package ``hey``, a Go binary) when it is on PATH, so the client does not burn the Python
interpreter's CPU on the same two cores as the server; otherwise an asyncio httpx client with
the same load model. ``hey`` runs one process per endpoint (clients split evenly): in the
random-phase test one process per group of :data:`PHASE_GROUP` clients, started at its drawn
phase.

Prints a table and writes ``benchmarks/results/api_load.md`` and ``.csv`` with machine facts.
Bounded in requests and time; stops the server by itself.

Run: ``python -m benchmarks.api_load [--tool hey|httpx]`` (``make bench`` calls :func:`main`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import platform
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLIENTS = 50
#: Each client sends one request every PERIOD_S seconds (50 clients → ~100 requests/s offered).
PERIOD_S = 0.5
#: Seconds of each paced test (40 requests per client).
PACED_S = 20.0
#: Seconds of the saturation test.
SATURATION_S = 10.0
#: Clients per phase group in the random-phase test (hey: one process per group).
PHASE_GROUP = 5
PHASE_SEED = 0
#: Sequential requests per endpoint for the server CPU figure.
CPU_REQUESTS = 100
SUBMISSIONS = 20
RUN_TIME_LIMIT = 2.0
DEADLINE_S = 300.0
TARGET_P99_MS = 100.0

#: (name, latency ms, HTTP status) of one request.
Sample = tuple[str, float, int]


@dataclass(frozen=True)
class Group:
    """Clients reading one endpoint, all starting at ``offset`` seconds."""

    path: str
    clients: int
    offset: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sample_zip(units: int = 200) -> bytes:
    from planner.generate import make_district
    from planner.writer import write_district

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "county"
        write_district(
            make_district(
                units=units, primary_schools=10, secondary_schools=5, teachers=400, seed=3
            ),
            folder,
        )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    zf.write(p, str(p.relative_to(folder)))
    return buf.getvalue()


def _start_server(data_dir: Path, port: int, key: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SCHOOLPLAN_ADMIN_KEY": key, "SCHOOLPLAN_WORKERS": "2"}
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--data-dir", str(data_dir)]  # fmt: skip
    with open(log, "wb") as fh:  # a file, not a pipe nobody reads: a full pipe blocks the server
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=fh)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _name(path: str) -> str:
    last = path.split("?")[0].rsplit("/", 1)[-1]
    return "run status" if last.startswith("run_") else last


async def _wait_up(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("the server exited (see its log)")
        try:
            if (await client.get("/v1/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start in 30 s")


async def _wait_runs(client: httpx.AsyncClient, ids: list[str], deadline: float) -> dict[str, str]:
    status: dict[str, str] = {}
    while time.monotonic() < deadline:
        for rid in ids:
            if status.get(rid) in ("done", "failed", "cancelled"):
                continue
            r = await client.get(f"/v1/runs/{rid}")
            status[rid] = r.json()["status"] if r.status_code == 200 else f"http {r.status_code}"
        if all(s in ("done", "failed", "cancelled") for s in status.values()) and len(
            status
        ) == len(ids):
            break
        await asyncio.sleep(0.25)
    return status


# -- load generators ----------------------------------------------------------------------
def _groups(paths: list[str], clients: int, offsets: list[float]) -> list[Group]:
    """``clients`` spread evenly over ``len(offsets)`` groups, endpoints in turn."""
    n = len(offsets)
    sizes = [clients // n + (i < clients % n) for i in range(n)]
    return [Group(paths[i % len(paths)], sizes[i], offsets[i]) for i in range(n) if sizes[i]]


async def _hey_group(
    hey: str, base: str, key: str, g: Group, duration: float, rate: float | None
) -> list[Sample]:
    await asyncio.sleep(g.offset)
    cmd = [hey, "-z", f"{duration:g}s", "-c", str(g.clients), "-t", "30", "-o", "csv",
           "-H", f"Authorization: Bearer {key}"]  # fmt: skip
    if rate:
        cmd += ["-q", f"{rate:g}"]
    proc = await asyncio.create_subprocess_exec(
        *cmd, base + g.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"hey failed ({proc.returncode}): {err.decode()[-500:]}")
    name = _name(g.path)
    samples: list[Sample] = []
    for row in csv.DictReader(io.StringIO(out.decode())):
        samples.append((name, float(row["response-time"]) * 1000, int(row["status-code"])))
    return samples


async def _httpx_client(
    client: httpx.AsyncClient, paths: list[str], offset: float, duration: float, period: float
) -> list[Sample]:
    """One client cycling over ``paths``: one request per ``period`` from ``offset`` (a
    request that ends late makes the next start at once), or back to back with period 0."""
    out: list[Sample] = []
    start = time.perf_counter() + offset
    i = 0
    while True:
        due = start + i * period
        now = time.perf_counter()
        if due - (start - offset) >= duration or now - (start - offset) >= duration:
            return out
        await asyncio.sleep(max(0.0, due - now))
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        r = await client.get(path)
        await r.aread()
        out.append((_name(path), (time.perf_counter() - t0) * 1000, r.status_code))
        i += 1


async def _load(
    tool: str,
    base: str,
    key: str,
    client: httpx.AsyncClient,
    paths: list[str],
    offsets: list[float],
    clients: int,
    duration: float,
    period: float,
) -> tuple[list[Sample], float]:
    """Run one load test; returns its samples and wall seconds."""
    t0 = time.perf_counter()
    if tool == "hey":
        hey = shutil.which("hey")
        assert hey is not None
        groups = _groups(paths, clients, offsets)
        rate = 1 / period if period else None
        parts = await asyncio.gather(
            *(_hey_group(hey, base, key, g, duration, rate) for g in groups)
        )
    else:
        # each client reads every endpoint in turn, starting at a different one
        per = [offsets[i * len(offsets) // clients] for i in range(clients)]
        parts = await asyncio.gather(
            *(
                _httpx_client(client, paths[i % 4 :] + paths[: i % 4], per[i], duration, period)
                for i in range(clients)
            )
        )
    return [s for part in parts for s in part], time.perf_counter() - t0


async def _server_cpu(
    client: httpx.AsyncClient, pid: int, paths: list[str], n: int
) -> dict[str, float]:
    """Server CPU ms per request, per endpoint, from ``n`` sequential requests."""
    out: dict[str, float] = {}
    for path in paths:
        for _ in range(5):  # warm: the first read of a finished run fills the cache
            await client.get(path)
        c0 = _cpu_seconds(pid)
        for _ in range(n):
            r = await client.get(path)
            r.raise_for_status()
        out[_name(path)] = (_cpu_seconds(pid) - c0) * 1000 / n
    return out


async def _bench(
    tool: str,
    base: str,
    key: str,
    proc: subprocess.Popen[bytes],
    clients: int,
    paced_s: float,
    saturation_s: float,
    submissions: int,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    deadline = time.monotonic() + DEADLINE_S
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60, limits=limits
    ) as client:
        await _wait_up(client, proc)
        r = await client.post(
            "/v1/datasets", files={"file": ("county.zip", _sample_zip(), "application/zip")}
        )
        r.raise_for_status()
        ds = r.json()["id"]
        sc = (await client.post("/v1/scenarios", json={"name": "bench", "dataset_id": ds})).json()[
            "id"
        ]
        body = {"kind": "catchment", "time_limit": RUN_TIME_LIMIT, "settings": {"num_workers": 1}}
        seeds = []
        for seed in (0, 1):
            rr = await client.post(f"/v1/scenarios/{sc}/runs", json={**body, "seed": seed})
            rr.raise_for_status()
            seeds.append(rr.json()["id"])
        done = await _wait_runs(client, seeds, deadline)
        if any(s != "done" for s in done.values()):
            raise RuntimeError(f"setup runs did not finish: {done}")
        a, b = seeds
        paths = [f"/v1/runs/{a}", f"/v1/runs/{a}/assignment?format=json", f"/v1/runs/{a}/map.png",
                 f"/v1/compare?runs={a},{b}"]  # fmt: skip
        cpu = await _server_cpu(client, proc.pid, paths, CPU_REQUESTS)
        await asyncio.sleep(0.5)

        # 1. synchronised bursts: every client fires at the same instant each period
        sync_offsets = [0.0] * (len(paths) if tool == "hey" else clients)
        synced, synced_wall = await _load(
            tool, base, key, client, paths, sync_offsets, clients, paced_s, PERIOD_S
        )
        await asyncio.sleep(0.5)
        # 2. random phases (seeded), in groups of PHASE_GROUP clients
        rng = random.Random(PHASE_SEED)
        groups = max(len(paths), clients // PHASE_GROUP)
        phase_offsets = [rng.uniform(0, PERIOD_S) for _ in range(groups)]
        phased, phased_wall = await _load(
            tool, base, key, client, paths, phase_offsets, clients, paced_s, PERIOD_S
        )
        await asyncio.sleep(0.5)
        # 3. saturation: back to back
        burst, burst_wall = await _load(
            tool, base, key, client, paths, [0.0] * len(paths), clients, saturation_s, 0.0
        )

        # 4. submissions: 20 at once
        t1 = time.perf_counter()
        posts = await asyncio.gather(
            *(
                client.post(f"/v1/scenarios/{sc}/runs", json={**body, "seed": 100 + i})
                for i in range(submissions)
            )
        )
        accepted = [p.json()["id"] for p in posts if p.status_code == 202]
        submit_ms = (time.perf_counter() - t1) * 1000
        final = await _wait_runs(client, accepted, deadline)
        runs_wall = time.perf_counter() - t1
    return {"cpu": cpu, "synced": synced, "synced_wall": synced_wall, "phased": phased,
            "phased_wall": phased_wall, "burst": burst, "burst_wall": burst_wall,
            "accepted": len(accepted), "final": final, "submit_ms": submit_ms,
            "runs_wall": runs_wall}  # fmt: skip


def _machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}",
        "python": platform.python_version(),
        "load": f"{os.getloadavg()[0]:.2f}",
    }


def _row(metric: str, ms: list[float], wall: float | None = None) -> dict[str, Any]:
    v = np.array(ms) if ms else np.array([np.nan])
    return {"metric": metric, "n": len(ms),
            "rate": round(len(ms) / wall, 1) if wall else "",
            "p50_ms": round(float(np.percentile(v, 50)), 1),
            "p95_ms": round(float(np.percentile(v, 95)), 1),
            "p99_ms": round(float(np.percentile(v, 99)), 1),
            "max_ms": round(float(v.max()), 1)}  # fmt: skip


def _rows(label: str, samples: list[Sample], wall: float) -> list[dict[str, Any]]:
    out = [_row(f"{label}: all reads", [ms for _, ms, _ in samples], wall)]
    for name in dict.fromkeys(n for n, _, _ in samples):
        out.append(_row(f"{label}: GET {name}", [ms for n, ms, _ in samples if n == name]))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the results; exit status 1 if a target failed."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.api_load", description=__doc__)
    ap.add_argument("--tool", choices=("auto", "hey", "httpx"), default="auto",
                    help="load generator (auto: hey when on PATH, else httpx)")  # fmt: skip
    ap.add_argument("--clients", type=int, default=CLIENTS)
    ap.add_argument("--paced-seconds", type=float, default=PACED_S)
    ap.add_argument("--saturation-seconds", type=float, default=SATURATION_S)
    ap.add_argument("--submissions", type=int, default=SUBMISSIONS)
    args = ap.parse_args(argv if argv is not None else sys.argv[1:])
    tool = args.tool if args.tool != "auto" else ("hey" if shutil.which("hey") else "httpx")
    if tool == "hey" and not shutil.which("hey"):
        ap.error("hey is not on PATH (Debian: apt-get install hey)")
    clients, submissions = args.clients, args.submissions

    key = "sp_bench_" + secrets.token_urlsafe(16)
    port = _free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    # under benchmarks/results/ (git-ignored *.tmp), away from /tmp cleaners of other jobs
    with tempfile.TemporaryDirectory(prefix="api_load-", suffix=".tmp", dir=RESULTS) as tmp:
        log = Path(tmp) / "server.log"
        proc = _start_server(Path(tmp) / "data", port, key, log)
        try:
            res = asyncio.run(
                _bench(
                    tool,
                    f"http://127.0.0.1:{port}",
                    key,
                    proc,
                    clients,
                    args.paced_seconds,
                    args.saturation_seconds,
                    submissions,
                )  # fmt: skip
            )
        except Exception:
            print("server log (last lines):\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    rows = [
        *_rows("synchronised bursts", res["synced"], res["synced_wall"]),
        *_rows("random phases", res["phased"], res["phased_wall"]),
        _row("saturation (back to back)", [ms for _, ms, _ in res["burst"]], res["burst_wall"]),
    ]
    by = {r["metric"]: r for r in rows}
    sync_p99 = by["synchronised bursts: all reads"]["p99_ms"]
    phase_p99 = by["random phases: all reads"]["p99_ms"]
    sat = by["saturation (back to back)"]
    errors = sum(code != 200 for part in ("synced", "phased", "burst") for _, _, code in res[part])
    statuses = list(res["final"].values())
    done = statuses.count("done")
    lost = (
        submissions
        - len(statuses)
        + sum(s not in ("done", "failed", "cancelled") for s in statuses)
    )
    facts = _machine()
    offered = clients / PERIOD_S

    head = f"{'metric':42s} {'n':>6s} {'req/s':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}"
    print(
        f"\nAPI load ({facts['date']}; {facts['machine']}; load avg {facts['load']}; tool {tool})"
    )
    print("server CPU per request (sequential): "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in res["cpu"].items()))  # fmt: skip
    print(head)
    for r in rows:
        print(f"{r['metric']:42s} {r['n']:6d} {r['rate']!s:>7s} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
              f"{r['p99_ms']:8.1f} {r['max_ms']:8.1f}")  # fmt: skip
    print(f"{clients} clients × 1 request / {PERIOD_S:g} s (~{offered:.0f} req/s offered), {errors} non-200; "
          f"p99 synchronised {sync_p99:.1f} ms, random phases {phase_p99:.1f} ms "
          f"(target < {TARGET_P99_MS:.0f} ms)")  # fmt: skip
    print(f"{submissions} runs submitted at once in {res['submit_ms']:.0f} ms: accepted {res['accepted']}, "
          f"done {done}, failed {statuses.count('failed')}, lost {lost}; all finished in {res['runs_wall']:.1f} s")  # fmt: skip

    with open(RESULTS / "api_load.csv", "w", newline="") as fh:
        fields = ["metric", "n", "rate", "p50_ms", "p95_ms", "p99_ms", "max_ms"]
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
        for name, ms in res["cpu"].items():
            w.writerow({"metric": f"server_cpu_ms {name}", "p50_ms": round(ms, 2)})
        w.writerow({"metric": "runs_submitted", "n": submissions})
        w.writerow({"metric": "runs_done", "n": done})
        w.writerow({"metric": "runs_lost", "n": lost})
    client_text = (
        "`hey` (Go; Debian package `hey`), one process per endpoint, clients split evenly"
        if tool == "hey"
        else "httpx async in the benchmark process (shares the cores with the server)"
    )
    met = lambda p: "met" if p < TARGET_P99_MS else "NOT met"  # noqa: E731
    md = [
        "# API load benchmark",
        "",
        f"- date: {facts['date']}; 1-min load average at the end {facts['load']}",
        f"- machine: {facts['machine']}; Python {facts['python']}",
        "- server: `schoolplan serve` on 127.0.0.1, SQLite (WAL), 2 run workers, one uvicorn "
        "process (uvloop, httptools)",
        f"- client: {client_text}; {clients} clients over run status, assignment JSON, map.png, "
        "compare of 2 finished runs; 200-unit generated county; full bodies (no If-None-Match)",
        "",
        "Server CPU per request (sequential requests, server process CPU time / count): "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in res["cpu"].items())
        + ".",
        "",
        "| metric | n | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['metric']} | {r['n']} | {r['rate']} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} |"
            for r in rows
        ),
        "",
        f"Paced: each client sends one request every {PERIOD_S:g} s for {args.paced_seconds:g} s "
        f"(~{offered:.0f} requests/s offered). Synchronised bursts (every client fires at the "
        f"same instant): p99 {sync_p99:.1f} ms, target < {TARGET_P99_MS:.0f} ms {met(sync_p99)}. "
        f"Random phases (seed {PHASE_SEED}, groups of {PHASE_GROUP} clients): p99 "
        f"{phase_p99:.1f} ms, {met(phase_p99)}. {errors} non-200 responses in all.",
        "",
        f"Saturation (the same clients back to back for {args.saturation_seconds:g} s): "
        f"{sat['rate']} requests/s, p50 {sat['p50_ms']} ms, p99 {sat['p99_ms']} ms: the "
        "service's capacity on this machine; latency then grows with the queue (Little's law).",
        "",
        f"Submissions: {submissions} catchment runs (time limit {RUN_TIME_LIMIT:g} s) posted at once "
        f"in {res['submit_ms']:.0f} ms; accepted {res['accepted']}, done {done}, "
        f"failed {statuses.count('failed')}, lost {lost}; all finished after {res['runs_wall']:.1f} s.",
        "",
    ]
    (RESULTS / "api_load.md").write_text("\n".join(md))
    ok = sync_p99 < TARGET_P99_MS and phase_p99 < TARGET_P99_MS
    return 0 if (ok and lost == 0 and done == submissions and errors == 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
