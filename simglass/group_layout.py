"""The group layout of results files (format "simglass-results-1", written by simglass
before issue 36): one HDF5 group per task.  Files of this format are read, and resumed
in their own layout; new files use the columnar layout (simglass.column_layout).

Layout::

    /tasks/<name>     one group per task, name p<point:04d>_r<realisation:05d>
                      attrs: point, realization, seed, params (JSON), status
                             ("done" | "failed"), wall_time [s], rank, traceback (failed)
                      datasets: the engine's record (nested dicts are subgroups;
                                strings are attributes of the group)

A task's ``status`` attribute is written last and the file is flushed after every
task, so a group without status (a kill during the write) counts as not done and is
rewritten on resume.  A file left damaged by a failed write is salvaged (:func:`salvage`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import h5py
import numpy as np

FORMAT = "simglass-results-1"
BOOKKEEPING = ("point", "realization", "seed", "params", "status", "wall_time", "rank", "traceback")
_STATUS = {"done": 1, "failed": 2}


def write_record(group: h5py.Group, record: dict):
    """Store ``record`` in ``group``: strings as attributes, dicts as subgroups, the rest
    as datasets.  Raises TypeError for a value that is not numeric."""
    for key, value in record.items():
        if isinstance(value, dict):
            write_record(group.create_group(key), value)
        elif isinstance(value, str):
            group.attrs[key] = value
        else:
            arr = np.asarray(value)
            if arr.dtype == object:
                raise TypeError(f"engine output {key!r} is not numeric: {type(value).__name__}")
            group.create_dataset(key, data=arr)


def read_group(group: h5py.Group) -> dict:
    """A task group (or subgroup) as a dict of numpy arrays / numbers / strings."""
    out = {}
    for key, item in group.items():
        out[key] = read_group(item) if isinstance(item, h5py.Group) else item[()]
    return out


def task_groups(f, writing: bool):
    """(name, group) of the task groups of an open results file that can be read and
    carry their attributes.  A group that cannot be read (a link not resolved yet, no
    attributes yet, or metadata a killed writer left half written) is skipped: it is
    pending, and a resumed run writes it again.  While a writer holds the lock
    (``writing``), such an HDF5 error is raised instead, so that
    simglass.results.read_consistent reads again."""
    for name in list(f["tasks"]):
        try:
            g = f["tasks"].get(name)
            if not isinstance(g, h5py.Group) or "point" not in g.attrs:
                continue
        except (RuntimeError, OSError, KeyError):
            if writing:
                raise
            continue
        yield name, g


class GroupTasks:
    """The stored tasks of an open group-layout file, by task index (simglass.results.StoredTasks
    describes the interface).  ``n_points``: the job's number of points (index = realisation
    × n_points + point)."""

    def __init__(self, f, n_tasks: int, n_points: int, writing: bool):
        self.n_tasks = n_tasks
        self.status = np.zeros(n_tasks, np.int8)
        self.wall_time = np.zeros(n_tasks)
        self.rank = np.full(n_tasks, -1, np.int64)
        self._groups = {}
        self._writing = writing
        self._columns = None
        for _, g in task_groups(f, writing):
            i = int(g.attrs["realization"]) * n_points + int(g.attrs["point"])
            if not 0 <= i < n_tasks:
                continue
            self.status[i] = _STATUS.get(g.attrs.get("status"), 0)
            self.wall_time[i] = float(g.attrs.get("wall_time", 0.0))
            self.rank[i] = int(g.attrs.get("rank", 0))
            self._groups[i] = g

    def record(self, i: int) -> dict:
        g = self._groups[i]
        rec = read_group(g)
        rec.update({k: str(v) for k, v in g.attrs.items() if k not in BOOKKEEPING and isinstance(v, str)})
        return rec

    def records(self, indices):
        for i in indices:
            try:
                rec = self.record(int(i))
            except (RuntimeError, OSError, KeyError):
                if self._writing:   # read_consistent reads the file again
                    raise
                continue            # left damaged by a killed writer: not counted
            yield int(i), rec

    def traceback(self, i: int) -> str:
        return str(self._groups[i].attrs.get("traceback", ""))

    def columns(self) -> dict:
        """{key: (values, present)} of every scalar number or flag of the done records, arrays
        of length n_tasks."""
        if self._columns is None:
            found = {}
            for i, rec in self.records(np.flatnonzero(self.status == 1)):
                for k, v in rec.items():
                    a = np.asarray(v) if not isinstance(v, (dict, str, bytes)) else None
                    if a is not None and a.ndim == 0 and a.dtype.kind in "biuf":
                        found.setdefault(k, {})[i] = a.item()
            self._columns = {}
            for k, d in found.items():
                idx = np.fromiter(d, np.int64, len(d))
                vals = np.array(list(d.values()))
                out = np.zeros(self.n_tasks, vals.dtype)
                out[idx] = vals
                present = np.zeros(self.n_tasks, bool)
                present[idx] = True
                self._columns[k] = (out, present)
        return self._columns


class GroupWriter:
    """Appends tasks to an open group-layout file (one group per task, flushed after each)."""

    def __init__(self, f, job):
        self.f = f
        self.job = job

    @staticmethod
    def create(f):
        f.create_group("tasks")

    def done_mask(self) -> np.ndarray:
        g = self.f["tasks"]
        done = {k for k in g if g[k].attrs.get("status") == "done"}
        return np.array([t.name in done for t in self.job.tasks()], bool)

    def write(self, task, record, wall_time, error, rank):
        g = self.f["tasks"]
        if task.name in g:
            del g[task.name]  # a failed or half-written earlier attempt
        grp = g.create_group(task.name)
        grp.attrs["point"] = task.point
        grp.attrs["realization"] = task.realization
        grp.attrs["seed"] = self.job.seed
        grp.attrs["params"] = json.dumps(task.params, sort_keys=True)
        grp.attrs["wall_time"] = wall_time
        grp.attrs["rank"] = rank
        if error is None:
            try:
                write_record(grp, record)
            except (TypeError, ValueError) as e:
                error = f"could not store the engine's record: {e}"
        if error is not None:
            for k in list(grp):
                del grp[k]
            grp.attrs["traceback"] = error
            grp.attrs["status"] = "failed"
        else:
            grp.attrs["status"] = "done"
        self.f.flush()

    def drop(self, task):
        """After a failed write: remove ``task``'s group (it may be half written)."""
        if task.name in self.f["tasks"]:
            del self.f["tasks"][task.name]


def damaged(f) -> bool:
    """True if a task group of the open file cannot be opened or has unreadable
    attributes: the trace of a write that failed half way."""
    try:
        for name in list(f["tasks"]):
            f["tasks"][name].attrs.get("status")
    except (OSError, RuntimeError, KeyError, ValueError):
        return True
    return False


def _readable(g: h5py.Group) -> bool:
    try:
        g.visititems(lambda k, v: v[()] if isinstance(v, h5py.Dataset) else None)
        dict(g.attrs)
        return True
    except (OSError, RuntimeError, KeyError, ValueError):
        return False


def salvage(path: Path, failed):
    """Copy the root attributes and every completed task that reads back whole into a
    fresh file, keep the damaged one as ``<path>.damaged`` and put the fresh one in its
    place; returns it open for appending.  Prints one line saying what was kept.
    ``failed``: the exception class raised (with one line) when the salvage fails."""
    from .results import write_error_cause, _release
    new = path.with_name(path.name + ".salvage")
    damaged_path = path.with_name(path.name + ".damaged")
    k = 1
    while damaged_path.exists():   # an earlier salvage's file is kept too
        damaged_path, k = path.with_name(f"{path.name}.damaged{k}"), k + 1
    kept = lost = 0
    try:
        kept, lost = _copy_readable(path, new)
        os.link(path, damaged_path)   # the damaged file stays under its new name ...
        os.replace(new, path)         # ... and the output is replaced in one step
    except (OSError, RuntimeError, ValueError) as e:
        _release(new)
        raise failed(f"salvaging the damaged results file {str(path)!r} failed: {write_error_cause(e)}; "
                     "it is left as it is") from None
    print(f"simglass: {str(path)!r} was damaged by a failed write: kept the {kept} completed tasks "
          f"that read back whole, {lost} others will run again (the damaged file is kept as "
          f"{str(damaged_path)!r})", file=sys.stderr, flush=True)
    return h5py.File(path, "a")


def _copy_readable(path: Path, new: Path) -> tuple[int, int]:
    """Copy the root attributes and the completed tasks that read back whole from the
    results file ``path`` into a new file ``new``; returns (kept, lost)."""
    kept = lost = 0
    with h5py.File(path, "r") as old, h5py.File(new, "w") as out:
        for k, v in old.attrs.items():
            out.attrs[k] = v
        dst = out.create_group("tasks")
        names = []
        try:
            names = list(old["tasks"])
        except (OSError, RuntimeError, KeyError):
            pass
        for name in names:
            try:
                g = old["tasks"][name]
                ok = g.attrs.get("status") == "done" and _readable(g)
            except (OSError, RuntimeError, KeyError, ValueError):
                ok = False
            if ok:
                old.copy(g, dst, name=name)
                kept += 1
            else:
                lost += 1
    return kept, lost
