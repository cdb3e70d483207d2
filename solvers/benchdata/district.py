"""Write a benchmark instance as a district folder, so it can go through ``schoolplan solve layout``.

Mapping: customers → planning units (``pupils_primary`` = demand), facilities → candidate
primary schools (``capacity_primary``, ``open_cost``), and ``travel.csv`` lists every pair with
``cost = c_ij / d_j``, because the district objective weights travel by pupils
(``travel_weight × Σ d_j c_ij``) while the published objectives count ``c_ij`` once per customer.
Uncapacitated sets get the total demand as capacity. The number of facilities to open is not part
of a district: pass ``--open-exactly P``. GAP has no such mapping (capacity use depends on the
pair).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from solvers.benchdata.instances import FacilityInstance


def write_as_district(instance: FacilityInstance, out: Path | str) -> Path:
    """Write ``units.csv``, ``schools.csv``, ``travel.csv`` and ``district.toml`` to ``out``.

    Coordinates are the instance's points when it has them (abstract plane, ``EPSG:3857``),
    otherwise a grid for display only; ``travel.csv`` carries the real costs.

    Raises
    ------
    ValueError
        For a GAP instance, or a customer with zero demand (its cost could not be scaled).
    """
    if instance.usage is not None:
        raise ValueError(f"{instance.name}: GAP instances have no district mapping")
    d = instance.demand
    if (d <= 0).any():
        raise ValueError(f"{instance.name}: zero demand cannot be expressed as cost per pupil")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n, m = instance.n_customers, instance.n_facilities
    if instance.xy is not None:
        uxy = fxy = instance.xy
    else:
        side = int(np.ceil(np.sqrt(max(n, m))))
        grid = np.stack([np.arange(max(n, m)) % side, np.arange(max(n, m)) // side], axis=1) * 100.0
        uxy, fxy = grid[:n], grid[:m]
    pd.DataFrame(
        {
            "unit_id": [f"u{j + 1}" for j in range(n)],
            "x": uxy[:, 0],
            "y": uxy[:, 1],
            "pupils_primary": d.astype(np.int64),
            "pupils_junior": 0,
        }
    ).to_csv(out / "units.csv", index=False)
    cap = np.where(np.isfinite(instance.capacity), instance.capacity, d.sum())
    pd.DataFrame(
        {
            "school_id": [f"f{i + 1}" for i in range(m)],
            "level": "primary",
            "x": fxy[:, 0],
            "y": fxy[:, 1],
            "capacity_primary": cap,
            "status": "open" if instance.all_open else "candidate",
            "open_cost": instance.fixed_cost,
        }
    ).to_csv(out / "schools.csv", index=False)
    fi, cj = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    pd.DataFrame(
        {
            "unit_id": [f"u{j + 1}" for j in cj.ravel()],
            "school_id": [f"f{i + 1}" for i in fi.ravel()],
            "cost": (instance.cost / d[None, :]).ravel(),
        }
    ).to_csv(out / "travel.csv", index=False, float_format="%.10g")
    p_note = (
        f"# open exactly {instance.p} schools: --open-exactly {instance.p}\n" if instance.p else ""
    )
    (out / "district.toml").write_text(f'name = "{instance.name}"\ncrs = "EPSG:3857"\n{p_note}')
    return out
