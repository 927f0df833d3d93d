"""One HDF5 file per job (docs/jobs.md "Results").

Layout::

    /                 attrs: format, simglass_version, git_commit, created, engine,
                             job_toml (the job file), job_identity (canonical JSON),
                             options (JSON: the engine options used, defaults
                             filled in), n_tasks
    /tasks/<name>     one group per task, name p<point:04d>_r<realisation:05d>
                      attrs: point, realization, seed, params (JSON), status
                             ("done" | "failed"), wall_time [s], traceback (failed)
                      datasets: the engine's record (nested dicts are subgroups)

A task's ``status`` attribute is written last and the file is flushed after every
task, so a group without status (a kill during the write) counts as not done and is
rewritten on resume.

One writer per file, whatever HDF5's own locking does (``HDF5_USE_FILE_LOCKING=FALSE``
is common on clusters): the writer holds an exclusive ``flock`` on the sidecar file
``<output>.lock`` (it names the writer's host and pid) from before it opens or replaces
the output until it closes it.  A second writer, or ``--overwrite`` of a file being
written, is refused with that name; the OS releases the lock when the writer dies, so a
killed job resumes without cleaning up.  Readers (``simglass info``, the analyses) take
no lock and see the completed tasks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np

from . import __version__
from .jobfile import Job, Task, parse_job
from .options import InputError

__all__ = ["ResultsFile", "read_results", "read_consistent", "task_groups", "being_written", "FORMAT"]

FORMAT = "simglass-results-1"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _write_record(group: h5py.Group, record: dict):
    for key, value in record.items():
        if isinstance(value, dict):
            _write_record(group.create_group(key), value)
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


class ResultsFile:
    """The results file of one job, opened by the writing process only."""

    def __init__(self, path, job: Job, overwrite: bool = False):
        self.path = Path(path)
        self.job = job
        self._lock = _acquire_writer_lock(self.path)
        try:
            self._open(job, overwrite)
        except BaseException:
            self._lock.close()
            raise

    def _open(self, job, overwrite):
        if self.path.exists() and overwrite:
            self.path.unlink()
        if self.path.exists():
            try:
                f = h5py.File(self.path, "a")
            except OSError as e:
                raise InputError(f"output {str(self.path)!r} exists but is not a readable HDF5 "
                                 f"file ({e}); move it away or pass --overwrite") from None
            if f.attrs.get("format") != FORMAT:
                f.close()
                raise InputError(f"output {str(self.path)!r} is not a simglass results file; "
                                 "choose another output or pass --overwrite")
            if f.attrs.get("job_identity") != job.identity:
                f.close()
                raise InputError(f"output {str(self.path)!r} was written by a different job; "
                                 "pass --overwrite to replace it, or choose another output")
            used = f.attrs.get("options")
            # an option the file does not name was added to the engine later: new options
            # default to the earlier behaviour, so only the options it names must agree
            now = options_used(job)
            diff = {k: (v, now.get(k, "(no longer an option)")) for k, v in json.loads(used).items()
                    if now.get(k, object()) != v} if used is not None else {}
            if diff:
                f.close()
                raise InputError(f"output {str(self.path)!r} was run with other engine options than this "
                                 f"code's defaults give now (stored, now): {diff}; resuming would mix them. "
                                 "Set the options explicitly in the job file, choose another output, or "
                                 "pass --overwrite")
            self.f = f
        else:
            try:
                self.f = h5py.File(self.path, "w-")
            except OSError as e:
                raise InputError(f"output {str(self.path)!r} cannot be created: {e}") from None
            a = self.f.attrs
            a["format"] = FORMAT
            a["simglass_version"] = __version__
            a["git_commit"] = git_commit()
            a["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            a["engine"] = job.engine
            a["job_toml"] = job.text
            a["job_identity"] = job.identity
            a["options"] = json.dumps(options_used(job), sort_keys=True)
            a["n_tasks"] = len(job.tasks())
            self.f.create_group("tasks")
            self.f.flush()

    def done(self) -> set[str]:
        """Names of the tasks completed successfully."""
        g = self.f["tasks"]
        return {k for k in g if g[k].attrs.get("status") == "done"}

    def _new_group(self, task: Task) -> h5py.Group:
        g = self.f["tasks"]
        if task.name in g:
            del g[task.name]  # a failed or half-written earlier attempt
        grp = g.create_group(task.name)
        grp.attrs["point"] = task.point
        grp.attrs["realization"] = task.realization
        grp.attrs["seed"] = self.job.seed
        grp.attrs["params"] = json.dumps(task.params, sort_keys=True)
        return grp

    def write(self, task: Task, record: dict | None, wall_time: float, error: str | None = None,
              rank: int = 0):
        grp = self._new_group(task)
        grp.attrs["wall_time"] = wall_time
        grp.attrs["rank"] = rank
        if error is None:
            try:
                _write_record(grp, record)
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

    def close(self):
        try:
            self.f.close()
        finally:
            self._lock.close()  # releases the flock


READ_RETRY_S = 10.0


def task_groups(f, path):
    """(name, group) of the task groups of an open results file that can be read and
    carry their attributes.  A group that cannot be read (a link not resolved yet, no
    attributes yet, or metadata a killed writer left half written) is skipped: it is
    pending, and a resumed run writes it again.  While a writer holds the lock, such an
    HDF5 error is raised instead, so that :func:`read_consistent` reads again."""
    writing = being_written(path)
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


def read_consistent(path, read):
    """``read(f, job)`` on the results file ``path`` (opened by :func:`read_results`),
    returned.  While a ``simglass run`` writes the file, a read can meet the file half
    changed (HDF5 raises OSError or RuntimeError, or a group vanishes: KeyError): then
    the whole read is retried from a fresh open, for up to READ_RETRY_S.  Raises
    InputError as read_results, and the read's own error when no writer is active."""
    deadline = time.monotonic() + READ_RETRY_S
    while True:
        f, job = read_results(path)
        try:
            with f:
                return read(f, job)
        except (OSError, RuntimeError, KeyError):
            if being_written(path) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise


def being_written(path) -> bool:
    """True if a ``simglass run`` holds the writer lock ``<path>.lock`` now."""
    lock = Path(path).with_name(Path(path).name + ".lock")
    try:
        fh = open(lock)
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def _acquire_writer_lock(path: Path):
    """Open ``<path>.lock`` and take an exclusive, non-blocking flock on it (kept until
    the returned file is closed); InputError naming the holder when another process has it."""
    lock = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "a+")
    except OSError as e:
        raise InputError(f"output {str(path)!r} cannot be created: {e}") from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise InputError(f"output {str(path)!r} is being written by {holder} (lock {str(lock)!r}); "
                         "one writer per results file: wait for it, or choose another output") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"simglass pid {os.getpid()} on {socket.gethostname()}\n")
    fh.flush()
    return fh


def options_used(job: Job) -> dict:
    """The engine options of ``job`` with defaults filled in, as JSON-compatible values."""
    return json.loads(json.dumps(job.options, sort_keys=True, default=list))


def read_results(path):
    """Open a results file for reading; returns (h5py.File, Job).  Raises InputError for
    a missing file, a file from another program or format version."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"results file {str(path)!r} not found")
    deadline = time.monotonic() + READ_RETRY_S
    while True:
        try:
            # no file lock: a running job's file can be read (its completed tasks are flushed)
            f = h5py.File(path, "r", locking=False)
            break
        except OSError as e:
            # the writer may be between extending the file and flushing its superblock
            # ("truncated file"): retry while a writer holds the lock, for READ_RETRY_S
            if being_written(path) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise InputError(f"results file {str(path)!r} cannot be opened as HDF5: {e}") from None
    fmt = f.attrs.get("format")
    if fmt != FORMAT:
        f.close()
        raise InputError(f"results file {str(path)!r} has format {fmt!r}; this simglass reads {FORMAT!r}")
    if "tasks" not in f:
        f.close()
        raise InputError(f"results file {str(path)!r} has no 'tasks' group (damaged?)")
    job = parse_job(f.attrs["job_toml"], name=os.fspath(path))
    if "options" in f.attrs:  # the options the tasks ran with, not today's defaults
        job.options = json.loads(f.attrs["options"])
    return f, job
