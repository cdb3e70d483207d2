"""School layout adjustment: open, expand, close or merge schools (facility location).

``problem`` holds the array model and its formulation, ``highs_model``/``cpsat_model`` the
solvers, ``solve.solve_facility`` the common entry (explain, start, sparsify with a proof,
verify), ``district`` the two-level district layout (``solve_layout``).
"""

from solvers.layout.problem import FacilityProblem, FacilitySolution, evaluate, explain_infeasible
from solvers.layout.solve import FacilitySettings, solve_facility

__all__ = [
    "FacilityProblem",
    "FacilitySettings",
    "FacilitySolution",
    "evaluate",
    "explain_infeasible",
    "solve_facility",
]
