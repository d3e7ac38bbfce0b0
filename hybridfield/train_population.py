"""Rebuild the bundled population model from the shared real records.

Run from the repository root (the shared data folder beside it)::

    python -m hybridfield.train_population --data ../shared/data

It learns heart-vector priors, lead-vector variability and the neighbouring leads' deviation
correlation from every usable shared record (302: PhysioNet Challenge 2021, LUDB, PTB; see
``shared/data/README.md`` for licences and citations; ``--records bundled`` takes the 36 earlier
ones) and writes ``hybridfield/resources/population_default.json`` (plain JSON, under 100 kB).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .cli import add_data_argument, add_records_argument, load_selected_records
from .population import BUNDLED_POPULATION_PATH, fit_population_model

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: fit the population model on the shared records and save it.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments without the program name (``--data``: folder of the shared
        records; ``--output``: JSON file to write); None reads ``sys.argv``.

    Returns
    -------
    status : int
        Process exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--output", default=str(BUNDLED_POPULATION_PATH))
    add_records_argument(parser, help="every usable shared record, or the 36 first bundled")
    arguments = parser.parse_args(argv)
    records = load_selected_records(arguments.data, arguments.records)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_population_model(records)
    Path(arguments.output).parent.mkdir(parents=True, exist_ok=True)
    model.save(arguments.output)
    print(f"{model} -> {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
