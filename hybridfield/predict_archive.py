"""Virtual leads for every record of a folder: ``python -m hybridfield.predict_archive``.

Runs the pretrained hybrid panorama (or ``--weights``) on every WFDB record under a folder in
batches on Dask and writes a zarr store that ``xarray.open_zarr`` reads: ``virtual`` (record x
view x time, mV, NaN after each record's ``length``), ``flagged`` records (quality warnings),
failures in its attributes (:func:`hybridfield.archive_prediction.predict_folder`). Deterministic,
except the optional posterior bands (``--bands 0.9``), which take ``--seed``.

Run::

    python -m hybridfield.predict_archive ../shared/data/cinc2021 --views V1 V4 1.57,2.27 --output virtual.zarr
    python -m hybridfield.predict_archive /data/ptb-xl --views V2 V6 --inputs I II V5 --output ptbxl.zarr --workers 16
    python -m hybridfield.predict_archive ../shared/data/ludb --views V1 V6 --bands 0.9 --output ludb.zarr
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main", "parse_view_arguments"]


def parse_view_arguments(tokens: list[str]) -> list[Any]:
    """Views from the command line: lead names, or ``theta,phi`` pairs in radians.

    Parameters
    ----------
    tokens : list of str
        E.g. ``["V1", "1.57,2.27"]``.

    Returns
    -------
    views : list
        Lead names and ``(theta, phi)`` tuples.
    """
    views: list[Any] = []
    for token in tokens:
        if "," in token:
            parts = token.split(",")
            try:
                views.append(tuple(float(p) for p in parts))
            except ValueError:
                raise ValueError(f"--views: {token!r} is neither a lead name nor a 'theta,phi' pair of numbers") from None
        else:
            views.append(token)
    return views


def main(argv: list[str] | None = None) -> int:
    """Predict the virtual leads of every record of a folder.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success (failed records are listed in the output, not an error).
    """
    from .batch import add_scheduler_arguments, scheduler_option
    from .cli import command_parser

    parser = command_parser("predict_archive", __doc__)
    parser.add_argument("folder", help="archive folder (records found by hybridfield.archives.find_records)")
    parser.add_argument("--views", nargs="+", required=True, help="lead names and/or theta,phi pairs in radians")
    parser.add_argument("--inputs", nargs="+", default=None, help="measured leads (default: the model's, I II V5)")
    parser.add_argument("--output", required=True, help="zarr directory to write (replaced)")
    parser.add_argument("--duration", type=float, default=None, help="cut every record to this many seconds (default: the longest)")
    parser.add_argument("--weights", default=None, help="HybridPanorama weights (.pt; default: the bundled ones)")
    parser.add_argument("--bands", type=float, default=None,
                        help="also write the central posterior band of this probability (e.g. 0.9) as lower/upper")
    parser.add_argument("--band-draws", type=int, default=200, help="posterior draws per record for --bands")
    parser.add_argument("--seed", type=int, default=0, help="seed of the posterior bands")
    add_scheduler_arguments(parser)
    parser.set_defaults(batch_size=16)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    arguments = parser.parse_args(argv)

    from .archive_prediction import predict_folder

    dataset = predict_folder(
        arguments.folder, parse_view_arguments(arguments.views), output=arguments.output, inputs=arguments.inputs,
        scheduler=scheduler_option(arguments), n_workers=arguments.workers, batch_size=arguments.batch_size,
        duration=arguments.duration, weights=arguments.weights, bands=arguments.bands, band_draws=arguments.band_draws,
        random_seed=arguments.seed, progress=not arguments.quiet,
    )
    print(f"{arguments.output}: {dataset.sizes['record']} records x {dataset.sizes['view']} views x "
          f"{dataset.sizes['time']} samples, {dataset.attrs['n_failures']} failed, {dataset.attrs['n_flagged']} flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
