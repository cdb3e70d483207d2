"""Helpers shared by benchmark scripts: machine facts and result files."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine_facts() -> dict[str, str]:
    """CPU model, cores, memory, Python and solver versions, date: printed with every table."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def ver(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "ortools": ver("ortools"),
        "highspy": ver("highspy"),
        "pulp": ver("pulp"),
        "load_avg_1min": f"{os.getloadavg()[0]:.2f}",
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def markdown_table(rows: list[dict[str, object]]) -> str:
    """Rows of equal keys as a Markdown table."""
    if not rows:
        return "(no rows)\n"
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def write_results(name: str, title: str, rows: list[dict[str, object]], notes: list[str]) -> Path:
    """Write ``results/<name>.md`` (table, machine, notes) and ``results/<name>.csv``."""
    import csv

    RESULTS.mkdir(parents=True, exist_ok=True)
    facts = machine_facts()
    md = [f"# {title}", "", markdown_table(rows), "## Machine", ""]
    md += [f"- {k}: {v}" for k, v in facts.items()]
    if notes:
        md += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(md) + "\n")
    if rows:
        with (RESULTS / f"{name}.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return path
