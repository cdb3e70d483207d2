"""Loaders of public facility-location benchmark formats, turning each file into plain arrays.

Each loader returns a :class:`~solvers.benchdata.instances.FacilityInstance` (frozen, numpy
arrays); :func:`read_optima` reads a set's ``optima.csv``. The instance files are read in place
from ``../shared/benchmarks`` and never copied into the repository.
"""

from solvers.benchdata.district import write_as_district
from solvers.benchdata.instances import (
    BENCHMARK_SETS,
    FacilityInstance,
    Optimum,
    cflp_orlib_cap,
    cpmp_osman_christofides,
    cpmp_stefanello,
    gap_orlib_yagiura,
    instance_paths,
    load_instance,
    orlib_pmed,
    read_optima,
    sscflp_holmberg,
)

__all__ = [
    "BENCHMARK_SETS",
    "FacilityInstance",
    "Optimum",
    "cflp_orlib_cap",
    "cpmp_osman_christofides",
    "cpmp_stefanello",
    "gap_orlib_yagiura",
    "instance_paths",
    "load_instance",
    "orlib_pmed",
    "read_optima",
    "sscflp_holmberg",
    "write_as_district",
]
