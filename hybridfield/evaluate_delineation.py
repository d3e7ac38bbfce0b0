"""Score beat delineation against LUDB's cardiologists: the project's and NeuroKit2's methods.

``python -m hybridfield.evaluate_delineation [--data ../shared/data] [--limit N]`` reads every LUDB
record listed in ``<data>/ludb/RECORDS`` (144), delineates it with each method of
:data:`hybridfield.delineation_scores.METHODS`, scores it against the annotations
(:func:`hybridfield.delineation_scores.score_ludb_record`) and prints, per method and boundary
(P onset, QRS onset, QRS offset, T offset), the median and 90th-percentile absolute error in ms and
the fraction of the annotated boundaries found, beside the CSE tolerances. ``--output`` writes the
summaries and the per-record scores as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli import DEFAULT_DATA
from .delineation_scores import (
    CSE_TOLERANCES_MS,
    METHODS,
    SCORED_BOUNDARIES,
    DelineationScore,
    score_ludb_record,
    summarise_scores,
)

__all__ = ["evaluate_ludb", "format_table", "ludb_records", "main"]

_LABELS = {"p_onset": "P onset", "qrs_onset": "QRS onset", "qrs_offset": "QRS offset", "t_offset": "T offset"}


def ludb_records(data: str | Path) -> list[Path]:
    """Record paths (without extension) of the LUDB folder of the shared data.

    Parameters
    ----------
    data : str or Path
        The shared data folder holding ``ludb/``.

    Returns
    -------
    records : list of Path
        In the order of ``ludb/RECORDS`` (every ``*.hea`` in numeric order if it is absent).

    Raises
    ------
    FileNotFoundError
        If ``<data>/ludb`` holds no record.
    """
    folder = Path(data) / "ludb"
    listing = folder / "RECORDS"
    if listing.exists():
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        names = sorted((path.stem for path in folder.glob("*.hea")), key=lambda name: (len(name), name))
    if not names:
        raise FileNotFoundError(f"no LUDB record in {folder}")
    return [folder / name for name in names]


def evaluate_ludb(
    records: Sequence[str | Path],
    *,
    methods: Sequence[str] = METHODS,
    reference: str = "global",
    tolerance: float = 0.15,
    progress: bool = True,
) -> dict[str, Any]:
    """Score every method on every record and pool the scores per method.

    Parameters
    ----------
    records : sequence of str or Path
        LUDB record paths without extension.
    methods : sequence of str
        Methods of :data:`hybridfield.delineation_scores.METHODS`.
    reference : str
        Reference per beat, see :func:`hybridfield.delineation_scores.read_ludb_reference`.
    tolerance : float
        R-peak matching tolerance, s.
    progress : bool
        Print one line per record to stderr.

    Returns
    -------
    report : dict
        ``reference``, ``tolerance_s``, ``summary`` (method -> :func:`summarise_scores` dict) and
        ``records`` (record -> method -> :meth:`DelineationScore.to_dict`).
    """
    scores: dict[str, list[DelineationScore]] = {method: [] for method in methods}
    per_record: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    for index, path in enumerate(records, 1):
        result = score_ludb_record(path, methods=methods, reference=reference, tolerance=tolerance)
        per_record[Path(path).name] = {method: score.to_dict() for method, score in result.items()}
        for method, score in result.items():
            scores[method].append(score)
        if progress:
            first = next(iter(result.values()), None)
            found = ", ".join(f"{method} {score.n_matched}" for method, score in result.items())
            print(
                f"[{index}/{len(records)}] record {Path(path).name}: {first.n_reference if first else 0} annotated beats; "
                f"matched {found} ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return {
        "reference": reference,
        "tolerance_s": tolerance,
        "summary": {method: summarise_scores(values) for method, values in scores.items()},
        "records": per_record,
    }


def _cell(value: float, digits: int = 0) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def format_table(summary: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table of the pooled scores.

    Parameters
    ----------
    summary : mapping of str to dict
        Method -> :func:`hybridfield.delineation_scores.summarise_scores` dict.

    Returns
    -------
    table : str
        One row per method and boundary: median and 90th-percentile absolute error (ms), mean
        signed error (ms), fraction of annotated boundaries found, fraction of the found ones within
        the CSE tolerance, the tolerance; a line per method with the beats matched.
    """
    lines = [
        "| method | boundary | median abs (ms) | p90 abs (ms) | bias (ms) | found | within CSE | CSE tol. (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, entry in summary.items():
        for name in SCORED_BOUNDARIES:
            row = entry[name]
            lines.append(
                f"| {method} | {_LABELS[name]} | {_cell(row['median_abs_ms'], 1)} | {_cell(row['p90_abs_ms'], 1)} | "
                f"{_cell(row['mean_ms'], 1)} | {row['n_found']}/{row['n_defined']} ({_cell(100 * row['found'])} %) | "
                f"{_cell(100 * row['within_tolerance'])} % | {CSE_TOLERANCES_MS[name]} |"
            )
    lines.append("")
    for method, entry in summary.items():
        lines.append(
            f"- {method}: {_cell(100 * entry['beats_found'], 1)} % of {entry['n_reference']} annotated beats matched "
            f"(R peak within the tolerance) in {entry['n_records']} records, {entry['n_extra']} false detections"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: score, print the table, optionally write JSON.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder holding ludb/ (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N records (quick look)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="METHOD")
    parser.add_argument(
        "--reference", default="global",
        help="per-beat reference: global (earliest onset / latest offset over the leads, CSE), median, or a lead name",
    )
    parser.add_argument("--tolerance", type=float, default=0.15, help="R-peak matching tolerance, s (default 0.15)")
    parser.add_argument("--output", default=None, help="write the summary and per-record scores as JSON here")
    arguments = parser.parse_args(argv)
    records = ludb_records(arguments.data)
    if arguments.limit:
        records = records[: arguments.limit]
    report = evaluate_ludb(records, methods=arguments.methods, reference=arguments.reference, tolerance=arguments.tolerance)
    print(f"LUDB, {len(records)} records, reference {arguments.reference}, matching within {arguments.tolerance * 1000:g} ms")
    print(format_table(report["summary"]), flush=True)
    if arguments.output:
        Path(arguments.output).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
