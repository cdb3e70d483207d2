"""API load benchmark on localhost: read latency under 50 clients, 20 runs submitted at once.

Starts ``schoolplan serve`` in a subprocess on 127.0.0.1 (a free port, a temp data dir, a
generated 200-unit county), then from this process with an async httpx client:

1. **reads**: 50 concurrent clients, each making a fixed number of requests over the result
   endpoints (run status, assignment JSON, map.png, compare) → p50 / p95 / p99 latency;
2. **submissions**: 20 catchment runs posted at once, polled until every one has finished →
   all accounted for (done / failed / lost), wall time.

Prints a table and writes ``benchmarks/results/api_load.md`` and ``.csv`` with machine facts.
Bounded in requests and time; stops the server by itself.

Run: ``python -m benchmarks.api_load`` (``make bench`` calls :func:`main`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLIENTS = 50
REQUESTS_PER_CLIENT = 40
#: Each client sends one request every PERIOD_S seconds (50 clients → ~100 requests/s offered).
PERIOD_S = 0.5
BURST_PER_CLIENT = 10
SUBMISSIONS = 20
RUN_TIME_LIMIT = 2.0
DEADLINE_S = 300.0
TARGET_P99_MS = 100.0


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
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def _wait_up(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(
                "the server exited: " + (proc.stderr.read().decode() if proc.stderr else "")
            )
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


async def _reader(
    client: httpx.AsyncClient,
    paths: list[str],
    n: int,
    out: list[tuple[str, float, int]],
    period: float = 0.0,
) -> None:
    """``n`` GETs over ``paths``; with ``period`` > 0 one request every ``period`` seconds."""
    start = time.perf_counter()
    for i in range(n):
        if period:
            await asyncio.sleep(max(0.0, start + i * period - time.perf_counter()))
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        r = await client.get(path)
        await r.aread()
        out.append(
            (
                path.split("?")[0].rsplit("/", 1)[-1],
                (time.perf_counter() - t0) * 1000,
                r.status_code,
            )
        )


async def _bench(
    base: str,
    key: str,
    proc: subprocess.Popen[bytes],
    clients: int,
    per_client: int,
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

        # 1. reads: 50 concurrent clients, each a dashboard refreshing every PERIOD_S seconds
        samples: list[tuple[str, float, int]] = []
        rotate = [paths[i % 4 :] + paths[: i % 4] for i in range(clients)]
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                _reader(client, rotate[i], per_client, samples, PERIOD_S + 0.001 * i)
                for i in range(clients)
            )
        )
        read_wall = time.perf_counter() - t0
        # 1b. saturation: the same clients back to back (capacity, for information)
        burst: list[tuple[str, float, int]] = []
        t0 = time.perf_counter()
        await asyncio.gather(
            *(_reader(client, rotate[i], BURST_PER_CLIENT, burst) for i in range(clients))
        )
        burst_wall = time.perf_counter() - t0

        # 2. submissions: 20 at once
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
    return {"samples": samples, "read_wall": read_wall, "burst": burst, "burst_wall": burst_wall, "accepted": len(accepted), "final": final,
            "submit_ms": submit_ms, "runs_wall": runs_wall}  # fmt: skip


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
    }


def main(
    clients: int = CLIENTS, per_client: int = REQUESTS_PER_CLIENT, submissions: int = SUBMISSIONS
) -> int:
    """Run the benchmark, print the table, write the results; exit status 1 if a target failed."""
    key = "sp_bench_" + secrets.token_urlsafe(16)
    port = _free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    # under benchmarks/results/ (git-ignored *.tmp), away from /tmp cleaners of other jobs
    with tempfile.TemporaryDirectory(prefix="api_load-", suffix=".tmp", dir=RESULTS) as tmp:
        log = Path(tmp) / "server.log"
        proc = _start_server(Path(tmp) / "data", port, key, log)
        try:
            res = asyncio.run(
                _bench(f"http://127.0.0.1:{port}", key, proc, clients, per_client, submissions)
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
    rows: list[dict[str, Any]] = []
    groups: dict[str, list[float]] = {}
    errors = 0
    for name, ms, code in res["samples"]:
        groups.setdefault(name, []).append(ms)
        groups.setdefault("all reads", []).append(ms)
        errors += code != 200
    for name, values in groups.items():
        v = np.array(values)
        rows.append({"metric": f"GET {name}" if name != "all reads" else name, "n": len(v),
                     "p50_ms": round(float(np.percentile(v, 50)), 1), "p95_ms": round(float(np.percentile(v, 95)), 1),
                     "p99_ms": round(float(np.percentile(v, 99)), 1), "max_ms": round(float(v.max()), 1)})  # fmt: skip
    burst_ms = np.array([ms for _, ms, _ in res["burst"]])
    burst_rate = len(burst_ms) / res["burst_wall"]
    burst_p50, burst_p99 = (float(np.percentile(burst_ms, q)) for q in (50, 99))
    rows.append({"metric": "saturation (back to back)", "n": len(burst_ms), "p50_ms": round(burst_p50, 1),
                 "p95_ms": round(float(np.percentile(burst_ms, 95)), 1), "p99_ms": round(burst_p99, 1),
                 "max_ms": round(float(burst_ms.max()), 1)})  # fmt: skip
    total = len(res["samples"])
    p99 = next(r["p99_ms"] for r in rows if r["metric"] == "all reads")
    statuses = list(res["final"].values())
    done = statuses.count("done")
    lost = (
        SUBMISSIONS
        - len(statuses)
        + sum(s not in ("done", "failed", "cancelled") for s in statuses)
    )
    facts = _machine()
    print(f"\nAPI load ({facts['date']}; {facts['machine']})")
    print(f"{'metric':32s} {'n':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for r in rows:
        print(
            f"{r['metric']:32s} {r['n']:6d} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f} {r['max_ms']:8.1f}"
        )
    print(f"{clients} clients, {total} reads in {res['read_wall']:.1f} s ({total / res['read_wall']:.0f} req/s), "
          f"{errors} non-200; p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms)")  # fmt: skip
    print(f"saturation: {len(burst_ms)} back-to-back reads at {burst_rate:.0f} req/s, "
          f"p50 {burst_p50:.0f} ms, p99 {burst_p99:.0f} ms")  # fmt: skip
    print(f"{submissions} runs submitted at once in {res['submit_ms']:.0f} ms: accepted {res['accepted']}, "
          f"done {done}, failed {statuses.count('failed')}, lost {lost}; all finished in {res['runs_wall']:.1f} s")  # fmt: skip

    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "api_load.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["metric", "n", "p50_ms", "p95_ms", "p99_ms", "max_ms"])
        w.writeheader()
        w.writerows(rows)
        w.writerow({"metric": "runs_submitted", "n": submissions})
        w.writerow({"metric": "runs_done", "n": done})
        w.writerow({"metric": "runs_lost", "n": lost})
    md = [
        "# API load benchmark",
        "",
        f"- date: {facts['date']}",
        f"- machine: {facts['machine']}; Python {facts['python']}",
        "- server: `schoolplan serve` on 127.0.0.1, SQLite (WAL), 2 run workers, one uvicorn process",
        f"- client: httpx async, {clients} concurrent clients × {per_client} requests "
        "(run status, assignment JSON, map.png, compare of 2 runs); 200-unit generated county",
        "",
        "| metric | n | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {r['metric']} | {r['n']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} |"
            for r in rows
        ),
        "",
        f"Reads: {total} in {res['read_wall']:.1f} s, {errors} non-200; p99 {p99:.1f} ms "
        f"(target < {TARGET_P99_MS:.0f} ms: {'met' if p99 < TARGET_P99_MS else 'NOT met'}). "
        f"Each client sends one request every {PERIOD_S:g} s (~{clients / PERIOD_S:.0f} requests/s offered).",
        "",
        f"Saturation (same clients, back to back, no pause): {len(burst_ms)} reads at "
        f"{burst_rate:.0f} requests/s, p50 {burst_p50:.0f} ms, p99 {burst_p99:.0f} ms: the "
        "service's capacity on this machine; latency then grows with the queue (Little's law).",
        "",
        f"Submissions: {submissions} catchment runs (time limit {RUN_TIME_LIMIT:g} s) posted at once "
        f"in {res['submit_ms']:.0f} ms; accepted {res['accepted']}, done {done}, "
        f"failed {statuses.count('failed')}, lost {lost}; all finished after {res['runs_wall']:.1f} s.",
        "",
    ]
    (RESULTS / "api_load.md").write_text("\n".join(md))
    return 0 if (p99 < TARGET_P99_MS and lost == 0 and done == submissions and errors == 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
