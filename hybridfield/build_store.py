"""Build (or extend) the cycle store of an archive: ``python -m hybridfield.build_store``.

Cuts the Nef-Net protocol cycles of every WFDB record under a folder (inputs, targets and the
physical projection with the population prior, as :func:`hybridfield.real_cycles` does) in
batches on Dask, into ``ROOT/cycles-<key>.zarr`` keyed by the preprocessing contract
(:func:`hybridfield.cycle_store.build_cycle_store`). Records already in the store are skipped,
so a second run is a no-op and an interrupted one resumes. Deterministic (no random step).

Run::

    python -m hybridfield.build_store ../shared/data/cinc2021 --root stores
    python -m hybridfield.build_store /data/ptb-xl/records500 --root stores --workers 16
    python -m hybridfield.build_store /data/ptb-xl --root stores --scheduler tcp://host:8786
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Build the cycle store of a folder of records.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success (failed records are listed in the store, not an error).
    """
    from .batch import add_scheduler_arguments, scheduler_option
    from .cli import command_parser

    parser = command_parser("build_store", __doc__)
    parser.add_argument("folder", help="archive folder (records found by hybridfield.archives.find_records)")
    parser.add_argument("--root", required=True, help="folder of cycle stores (the store is ROOT/cycles-<key>.zarr)")
    parser.add_argument("--inputs", nargs="+", default=["I", "II", "V5"], help="input leads (default: %(default)s)")
    parser.add_argument("--targets", nargs="+", default=None, help="query leads kept (default: the 12 standard leads)")
    parser.add_argument("--population", default=None, help="population model JSON (default: the bundled one)")
    add_scheduler_arguments(parser)
    parser.add_argument("--retry-failures", action="store_true", help="process records listed as failed again")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    arguments = parser.parse_args(argv)

    from .cycle_store import build_cycle_store
    from .leads import STANDARD_LEADS
    from .population import PopulationModel

    population = None if arguments.population is None else PopulationModel.load(arguments.population)
    store = build_cycle_store(
        arguments.folder, arguments.root, inputs=arguments.inputs, targets=arguments.targets or STANDARD_LEADS,
        population=population, batch_size=arguments.batch_size, scheduler=scheduler_option(arguments),
        n_workers=arguments.workers, retry_failures=arguments.retry_failures, progress=not arguments.quiet,
    )
    print(store.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
