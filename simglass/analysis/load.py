"""Reading the completed tasks of a results file (also of a running or killed job)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from simglass.results import read_consistent, stored_tasks

__all__ = ["Point", "load_points", "lattice_key", "task_table", "columns"]


def lattice_key(params) -> tuple:
    """The lattice extents of a parameter point as a tuple of ints (L given as a list or
    as one int for a chain)."""
    L = params["L"]
    return tuple(int(v) for v in (L if isinstance(L, (list, tuple)) else [L]))


@dataclass
class Point:
    """One parameter point: its parameters and the records of its completed realisations."""
    index: int
    params: dict
    realizations: list
    records: list


def load_points(path, engine: str | None = None) -> tuple[object, list[Point]]:
    """(job, points) of a results file; only tasks with status "done" are read.
    Raises InputError if the file is not a results file or not of ``engine``."""
    from simglass.options import InputError

    def read(f, job):
        if engine is not None and job.engine != engine:
            raise InputError(f"{path}: results of engine {job.engine!r}, expected {engine!r}")
        derived = _derived(job.engine)
        by_point = defaultdict(list)
        n_points = len(job.points())
        tasks = stored_tasks(f, job, path)     # tasks being written are pending
        for i, rec in tasks.records(np.flatnonzero(tasks.status == 1)):
            for key, (source, fn) in derived.items():
                if key not in rec and source in rec:
                    rec[key] = fn(rec[source])
            by_point[i % n_points].append((job.first_realization + i // n_points, rec))
        return job, by_point
    # a read that meets the file half written by a running job is retried (read_consistent)
    job, by_point = read_consistent(path, read)
    points = []
    for p, params in enumerate(job.points()):
        recs = sorted(by_point.get(p, []), key=lambda x: x[0])
        points.append(Point(p, params, [r for r, _ in recs], [x for _, x in recs]))
    return job, points


def _derived(engine: str) -> dict:
    """The engine's DERIVED entries (simglass.engines), {} for an unknown engine."""
    from simglass.engines import get_engine, names
    return dict(getattr(get_engine(engine), "DERIVED", {})) if engine in names() else {}


def describe(params: dict, keys) -> str:
    return ", ".join(f"{k}={json.dumps(params[k])}" for k in keys)


def task_table(path):
    """The completed tasks of a results file as a pandas DataFrame: one row per task,
    the model parameters as columns (the scanned ones first, then the fixed ones, so
    that tables of several files can be concatenated; L as a string such as "8x8x8",
    other lists as strings, unset ones None), ``N`` (sites, an integer: sort and group
    sizes by it), then ``realization``, ``point`` and every scalar number or flag of the
    engine's record (arrays and strings are left out; read arrays with
    :func:`load_points`).  A record entry named like a model parameter replaces it
    (``n_particles``: the N_f the task used).  What each column means, with its unit:
    :func:`columns`, or the engine's record table on the engines page (both from the
    engine's ``OUTPUTS``).  Works on the file of a running or killed job (completed
    tasks only).

    Parameters
    ----------
    path : str or Path, a simglass results file (HDF5).

    Returns
    -------
    pandas.DataFrame with columns [scanned keys..., fixed model keys..., "N", "realization",
    "point", scalars...].

    Raises
    ------
    simglass.options.InputError : not a results file, or one of another format version.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from simglass.jobfile import parse_job
    >>> from simglass.runner import run_job
    >>> job = parse_job('engine = "disorder"\\nrealizations = 2\\n[model]\\nL = [3, 3]\\n'
    ...                 '[scan]\\nJ = [0.5, 1.0]\\n[options]\\nn_configs = 4\\n')
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.h5"
    >>> run_job(job, output=str(out), progress=False).done
    4
    >>> df = task_table(out)
    >>> print(df[["J", "realization", "n_particles"]].to_string(index=False))
      J  realization  n_particles
    0.5            0            5
    0.5            1            5
    1.0            0            5
    1.0            1            5
    """
    import pandas as pd
    job, n, point, realization, cols = read_consistent(path, _scalar_columns)
    points = job.points()
    keys = list(job.scan) + [k for k in job.model if k not in job.scan]

    def cell(k, v):
        if k == "L":
            return "x".join(map(str, lattice_key({"L": v})))
        return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else v
    data = {}
    for k in keys:
        per_point = np.empty(len(points), object)
        per_point[:] = [cell(k, p.get(k)) for p in points]
        data[k] = _column_of(per_point[point])
    sizes = [int(np.prod(lattice_key(p))) if "L" in p else None for p in points]
    data["N"] = _column_of(np.array(sizes, object)[point])
    data["realization"] = realization
    data["point"] = point
    for k in sorted(cols):
        values, present = cols[k]
        if present.all():
            data[k] = values
        else:   # missing entries are NaN, as in a table built from records
            data[k] = pd.Series(values, dtype=object).where(present, np.nan).infer_objects()
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def _column_of(values: np.ndarray):
    """An object array of cells as a pandas column of the cells' own type."""
    import pandas as pd
    return pd.Series(values, dtype=object).infer_objects().to_numpy() if len(values) else values


def _scalar_columns(f, job, path=None):
    """(job, rows, point, realization, {key: (values, present)}) of the done tasks of an open
    results file, in task_table's row order (by point, then realisation); the scalar entries
    of the records and the DERIVED ones that are missing (files written before them)."""
    tasks = stored_tasks(f, job, path if path is not None else f.filename)
    n_points = len(job.points())
    done = np.flatnonzero(tasks.status == 1)
    point, realization = done % n_points, job.first_realization + done // n_points
    order = np.lexsort((realization, point))
    done, point, realization = done[order], point[order], realization[order]
    cols = {k: (v[done], p[done]) for k, (v, p) in tasks.columns().items()}
    derived = {k: d for k, d in _derived(job.engine).items() if k not in cols or not cols[k][1].all()}
    if derived:
        # a key stored by some tasks only, or derived from an array: the records say
        found = defaultdict(dict)
        for i, rec in tasks.records(done):
            for key, (source, fn) in derived.items():
                if key not in rec and source in rec:
                    rec[key] = fn(rec[source])
                v = rec.get(key)
                a = np.asarray(v) if v is not None and not isinstance(v, (dict, str, bytes)) else None
                if a is not None and a.ndim == 0 and a.dtype.kind in "biuf":
                    found[key][i] = a.item()
        pos = {int(i): j for j, i in enumerate(done)}
        for key, d in found.items():
            vals = np.array(list(d.values()))
            values, present = np.zeros(len(done), vals.dtype), np.zeros(len(done), bool)
            at = np.array([pos[i] for i in d], np.int64)
            values[at], present[at] = vals, True
            cols[key] = (values, present)
    return job, len(done), point, realization, cols


def columns(engine: str) -> dict:
    """What the columns of :func:`task_table` mean for a results file of ``engine``:
    column name -> "meaning [unit]" (unit omitted for flags and parameters): the model
    parameters (simglass.jobfile.MODEL_OPTIONS; in the table the scanned ones come
    first), ``N``, ``realization``, ``point``, then the scalar entries of the engine's
    record (its ``OUTPUTS``, simglass.engines.outputs).  Options decide whether some
    entries are stored (the engines page says when); a column is present when its entry
    is.

    Raises simglass.options.InputError for an unknown engine.

    Examples
    --------
    >>> cols = columns("hartree")
    >>> cols["ln_g_mean"]
    '<ln g> over the array g: the typical conductance of the realisation (NaN without a twisted direction) [1]'
    >>> list(cols)[:3]
    ['L', 'periodic', 't']
    """
    from simglass.engines import outputs
    from simglass.jobfile import MODEL_OPTIONS
    out = {k: f"model parameter: {o.help}" for k, o in MODEL_OPTIONS.items()}
    out.update(N="number of sites, the product of L", realization="realisation index r (the job's seed and r fix the disorder)",
               point="index of the parameter point in the scan (its order)")
    for k, o in outputs(engine).items():
        if o.column:
            out[k] = o.meaning + (f" [{o.unit}]" if o.unit else "")
    return out
