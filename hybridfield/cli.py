"""What the ``python -m hybridfield.<command>`` programs share: the data folder and the linear-path options.

Commands: ``train_population`` (the bundled population model), ``train_hybrid`` (the bundled
hybrid weights), ``evaluate_hybrid`` (leave-records-out evaluation of the hybrid),
``evaluate_uncertainty`` (leave-one-record-out calibration of the posterior). Each takes
``--data`` (the shared records, default ``../shared/data`` beside the repository) and ``--help``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .ecg import ECG

__all__ = [
    "DEFAULT_DATA",
    "command_parser",
    "add_data_argument",
    "load_shared_records",
    "load_all_shared_records",
    "add_records_argument",
    "load_selected_records",
    "RECORD_SELECTIONS",
    "add_training_arguments",
    "add_linear_path_arguments",
    "linear_path_options",
]

#: The shared data folder beside the repository (``../shared/data``).
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def command_parser(command: str, doc: str) -> argparse.ArgumentParser:
    """The parser of ``python -m hybridfield.<command>``, its help drawn from the module docstring.

    Parameters
    ----------
    command : str
        Module name under :mod:`hybridfield`, e.g. ``"build_store"``.
    doc : str
        The module docstring: its first line is the description, everything after the blank
        second line the epilog (shown as written).

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    lines = doc.splitlines()
    return argparse.ArgumentParser(
        prog=f"python -m hybridfield.{command}", description=lines[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog="\n".join(lines[2:]),
    )


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--data``: the folder of the shared records (default :data:`DEFAULT_DATA`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder holding ptbdb/ and cinc2021/ (default: %(default)s)")


def load_shared_records(data: str | Path) -> list[ECG]:
    """The PTB record and the PhysioNet Challenge 2021 records of the shared data folder.

    Parameters
    ----------
    data : str or Path
        The folder holding ``ptbdb/`` and ``cinc2021/``.

    Returns
    -------
    records : list of ECG

    Raises
    ------
    FileNotFoundError
        If neither folder holds a wfdb record.
    """
    from .io import read_wfdb

    data = Path(data)
    paths = sorted((data / "cinc2021").glob("*.hea")) + sorted((data / "ptbdb").glob("*.hea"))
    if not paths:
        raise FileNotFoundError(f"no wfdb records under {data}/cinc2021 or {data}/ptbdb")
    return [read_wfdb(path.with_suffix("")) for path in paths]


def load_all_shared_records(data: str | Path) -> tuple[list[ECG], list[str]]:
    """Every usable record of the shared data folder (Challenge 2021, LUDB, PTB), with its patient.

    Read through :func:`hybridfield.archives.find_records` and
    :func:`hybridfield.archives.read_records`; a record that cannot be read is reported on
    standard error, never dropped silently.

    Parameters
    ----------
    data : str or Path
        The shared data folder.

    Returns
    -------
    records : list of ECG
    patients : list of str
        ``layout:patient`` of each record (PTB and LUDB patients can have several records).
    """
    import sys

    from .archives import find_records, read_records

    entries = find_records(data)
    if not entries:
        raise FileNotFoundError(f"no wfdb records under {data}")
    records, failures = read_records(entries)
    for failure in failures:
        print(f"{failure.record}: {failure.stage}: {failure.reason}", file=sys.stderr)
    by_name = {entry.record: f"{entry.layout}:{entry.patient}" for entry in entries}
    return records, [by_name[str(ecg.record)] for ecg in records]


#: What ``--records`` can select: every usable shared record, or the 36 Challenge 2021 and PTB
#: records the bundled models were first fitted on.
RECORD_SELECTIONS = ("all", "bundled")


def add_records_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """Add ``--records`` (:data:`RECORD_SELECTIONS`, default ``"all"``), read by :func:`load_selected_records`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    help : str, optional
        The command's own help text (default: a description of the two selections).
    """
    parser.add_argument(
        "--records", choices=RECORD_SELECTIONS, default="all",
        help=help or "all: every usable shared record (Challenge 2021, LUDB, PTB), with patients; "
        "bundled: the 36 records of ptbdb/ and cinc2021/ the bundled models were first fitted on",
    )


def load_selected_records(data: str | Path, selection: str) -> tuple[list[ECG], list[str] | None]:
    """The records a command's ``--records`` selects.

    Parameters
    ----------
    data : str or Path
        The shared data folder.
    selection : {"all", "bundled"}
        :func:`load_all_shared_records` or :func:`load_shared_records`.

    Returns
    -------
    records : list of ECG
    patients : list of str or None
        ``layout:patient`` of each record with ``"all"``; None with ``"bundled"`` (no patient keys).
    """
    if selection not in RECORD_SELECTIONS:
        raise ValueError(f"selection must be one of {RECORD_SELECTIONS}, got {selection!r}")
    if selection == "all":
        return load_all_shared_records(data)
    return load_shared_records(data), None


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the hybrid training's length and network size: ``--epochs`` (default 25),
    ``--simulated-records`` (simulated records per input set, default 10) and ``--channels`` (the
    NefNet's feature channels, default :class:`~hybridfield.nefnet.NefNetConfig`'s 24), as
    ``train_hybrid`` and ``evaluate_hybrid`` take them.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--simulated-records", type=int, default=10)
    parser.add_argument(
        "--channels", type=int, default=24,
        help="feature channels of the NefNet's encoder and branches (network size; 24: about 40 k parameters)",
    )


def add_linear_path_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the linear path's fit options (``--linear-ridge``, ``--gain-ridge``,
    ``--heart-vector-ridge``, ``--real-weight``, ``--limb-identities``).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    from .training import HEART_VECTOR_RIDGE, LINEAR_RIDGE, PHYSICS_GAIN_RIDGE, REAL_CYCLE_WEIGHT

    parser.add_argument("--linear-ridge", type=float, default=LINEAR_RIDGE, help="ridge of the linear path's per-pair weights")
    parser.add_argument("--gain-ridge", type=float, default=PHYSICS_GAIN_RIDGE, help="ridge of the linear path's physics gain")
    parser.add_argument("--heart-vector-ridge", type=float, default=HEART_VECTOR_RIDGE, help="ridge of the heart-vector correction")
    parser.add_argument("--real-weight", type=float, default=REAL_CYCLE_WEIGHT, help="weight of real against simulated cycles in the linear path's fit")
    parser.add_argument(
        "--limb-identities", action="store_true",
        help="with one measured limb lead, fit and train the limb leads through the six-lead identity fit (train_hybrid's limb_identities)",
    )


def linear_path_options(arguments: argparse.Namespace) -> dict[str, float | bool]:
    """The options of :func:`add_linear_path_arguments` as keywords of
    :func:`hybridfield.train_hybrid` (and as the weights' contract records them).

    Parameters
    ----------
    arguments : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    options : dict
        ``linear_ridge``, ``linear_gain_ridge``, ``heart_vector_ridge``, ``linear_real_weight``,
        ``limb_identities``.
    """
    return {
        "linear_ridge": arguments.linear_ridge,
        "linear_gain_ridge": arguments.gain_ridge,
        "heart_vector_ridge": arguments.heart_vector_ridge,
        "linear_real_weight": arguments.real_weight,
        "limb_identities": arguments.limb_identities,
    }
