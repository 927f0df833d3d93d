"""Reading the completed tasks of a results file (also of a running or killed job)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from simglass.results import read_group, read_results

__all__ = ["Point", "load_points", "lattice_key"]


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
    f, job = read_results(path)
    with f:
        if engine is not None and job.engine != engine:
            raise InputError(f"{path}: results of engine {job.engine!r}, expected {engine!r}")
        by_point = defaultdict(list)
        for name in sorted(f["tasks"]):
            try:               # a task the running job is writing: not done yet, skip it
                g = f["tasks"][name]
                if g.attrs.get("status") != "done":
                    continue
                rec = (int(g.attrs["realization"]), read_group(g))
                by_point[int(g.attrs["point"])].append(rec)
            except (AttributeError, KeyError, RuntimeError, OSError):
                continue
    points = []
    for p, params in enumerate(job.points()):
        recs = sorted(by_point.get(p, []), key=lambda x: x[0])
        points.append(Point(p, params, [r for r, _ in recs], [x for _, x in recs]))
    return job, points


def describe(params: dict, keys) -> str:
    return ", ".join(f"{k}={json.dumps(params[k])}" for k in keys)
