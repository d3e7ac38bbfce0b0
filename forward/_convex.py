"""Running the cvxpy programs of the heart-vector inverse: import, solver choice, status checks.

:func:`forward.estimators.smooth_heart_vector` and :func:`forward.calibration.calibrate_leads`
build their convex programs with cvxpy and solve them through these functions, so that a failed
or inaccurate solve is reported the same way everywhere: statuses other than "optimal" and
"optimal_inaccurate" raise RuntimeError, "optimal_inaccurate" warns (RuntimeWarning).
cvxpy is imported only when a convex program is built.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["ACCEPTED_STATUSES", "choose_solver", "import_cvxpy", "solution_value", "solve_problem"]

ACCEPTED_STATUSES = ("optimal", "optimal_inaccurate")
"""cvxpy statuses whose solution is returned ("optimal_inaccurate" with a RuntimeWarning)."""


def import_cvxpy() -> Any:
    """Import cvxpy on first use.

    Returns
    -------
    cvxpy : module

    Raises
    ------
    ImportError
        If cvxpy is not installed, with the command that installs it.
    """
    try:
        import cvxpy
    except ImportError as error:  # pragma: no cover - cvxpy is a dependency of forward
        raise ImportError("the convex heart-vector inverse needs cvxpy: pip install cvxpy") from error
    return cvxpy


def choose_solver(cp: Any, solver: str | None, *, conic: bool) -> str | None:
    """The cvxpy solver to use: the one asked for, or the preferred installed one.

    Parameters
    ----------
    cp : module
        cvxpy (from :func:`import_cvxpy`).
    solver : str or None
        Requested solver name (case-insensitive); None picks CLARABEL, then ECOS (conic) or OSQP
        (quadratic), then SCS, whichever is installed first.
    conic : bool
        Whether the program has second-order-cone constraints.

    Returns
    -------
    name : str or None
        Upper-case solver name; None lets cvxpy choose (none of the preferred is installed).

    Raises
    ------
    ValueError
        If the requested solver is not installed.
    """
    installed = cp.installed_solvers()
    if solver is None:
        for preferred in ("CLARABEL", "ECOS", "SCS") if conic else ("CLARABEL", "OSQP", "SCS"):
            if preferred in installed:
                return preferred
        return None
    name = str(solver).upper()
    if name not in installed:
        raise ValueError(f"solver must be one of the installed cvxpy solvers {installed}, got {solver!r}")
    return name


def solve_problem(problem: Any, solver: str | None, what: str) -> None:
    """Solve a cvxpy problem; warn on an inaccurate optimum, raise RuntimeError on anything else.

    Parameters
    ----------
    problem : cvxpy.Problem
        The program, solved in place.
    solver : str or None
        Solver name from :func:`choose_solver`.
    what : str
        Name of the calling step, put at the start of every message.

    Raises
    ------
    RuntimeError
        If the solver fails or returns a status not in :data:`ACCEPTED_STATUSES`.

    Warns
    -----
    RuntimeWarning
        If the status is "optimal_inaccurate" (attributed to the caller's caller).
    """
    cp = import_cvxpy()
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError as error:
        raise RuntimeError(f"{what}: the cvxpy solver {solver or 'default'} failed: {error}") from error
    status = problem.status
    if status not in ACCEPTED_STATUSES:
        raise RuntimeError(f"{what}: the cvxpy solver {solver or 'default'} returned status {status!r}")
    if status == "optimal_inaccurate":
        warnings.warn(
            f"{what}: the cvxpy solver {solver or 'default'} returned status 'optimal_inaccurate'",
            RuntimeWarning,
            stacklevel=3,
        )


def solution_value(variable: Any, what: str) -> np.ndarray:
    """The value of a solved cvxpy variable, refusing a missing or non-finite one.

    Parameters
    ----------
    variable : cvxpy.Variable
        A variable of a problem solved by :func:`solve_problem`.
    what : str
        Name of the calling step, put at the start of the message.

    Returns
    -------
    value : ndarray of float64
        The variable's value, in the units of the variable.

    Raises
    ------
    RuntimeError
        If the solver left no value or a non-finite one.
    """
    value = variable.value
    if value is None or not np.all(np.isfinite(value)):
        raise RuntimeError(f"{what}: the solver reported success but returned no finite solution")
    return np.asarray(value, dtype=np.float64)
