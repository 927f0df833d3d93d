"""The engine registry: one entry per engine, imported on first use.

An engine is a module with

* ``OPTIONS``: dict name -> :class:`simglass.options.Option` (its [options] table);
* ``run(model, rng, **options) -> dict``: a pure function of the model, a numpy
  Generator and the options, returning datasets (arrays, numbers, nested dicts);
* optionally ``check_point(params, options)``, raising ValueError for a parameter
  point it cannot run (checked before any task starts);
* optionally ``memory_gb(params, options)``: the memory one task needs (GiB); a job
  whose tasks need more than the machine has is refused before anything is written;
* optionally ``FLAGS``: dict dataset name -> the value a sound result has (for example
  ``converged: True``); ``simglass info`` counts, per point, the tasks flagged otherwise;
* or, for an engine without lattice and disorder (``LATTICE_FREE = True``, e.g. the
  infinite-lattice saddle point), ``run_params(params, rng, **options)`` instead of
  ``run``; its jobs need no L.

Engines never read job files or write files.
"""

from __future__ import annotations

import importlib

from .options import InputError

__all__ = ["ENGINES", "get_engine"]

ENGINES = {
    "disorder": "simglass.disorder_stats",
    "mc": "mc.engine",
    "hartree": "ed.hartree_engine",
    "ed": "ed.exact_engine",
    "stiffness": "ed.stiffness_engine",
    "saddle": "simglass.meanfield.engine",
}


def get_engine(name: str):
    if name not in ENGINES:
        raise InputError(f"engine = {name!r}: unknown engine; allowed: " + ", ".join(sorted(ENGINES)))
    return importlib.import_module(ENGINES[name])
