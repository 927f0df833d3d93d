"""One HDF5 file per job (docs/jobs.md "Results").

Layout::

    /                 attrs: format, simglass_version, git_commit, created, engine,
                             job_toml (the job file), job_identity (canonical JSON),
                             options (JSON: the engine options used, defaults
                             filled in), n_tasks, couplings_file (JSON: path, size
                             and SHA-256 of a job's couplings = "file"; only then)
    /tasks/<name>     one group per task, name p<point:04d>_r<realisation:05d>
                      attrs: point, realization, seed, params (JSON), status
                             ("done" | "failed"), wall_time [s], traceback (failed)
                      datasets: the engine's record (nested dicts are subgroups)

A task's ``status`` attribute is written last and the file is flushed after every
task, so a group without status (a kill during the write) counts as not done and is
rewritten on resume.

A write that fails (disk full, quota, I/O error, file-size limit) stops the run with
:class:`WriteFailed`, one line naming the task, the file and the cause.  The writer
keeps a reserve file ``<output>.reserve`` (up to 4 MiB, a quarter of the free space at
most) on the same filesystem: on a failure it is deleted and the file flushed again
without the failed task, so a full disk leaves a consistent file.  Where that flush
fails too (an I/O error), the next run finds task groups it cannot read and salvages:
every completed task that reads back whole is copied into a fresh file, which replaces
the damaged one (kept as ``<output>.damaged``).  Either way only the tasks that were not
stored are computed again.

One writer per file, whatever HDF5's own locking does (``HDF5_USE_FILE_LOCKING=FALSE``
is common on clusters): the writer holds an exclusive ``flock`` on the sidecar file
``<output>.lock`` (it names the writer's host and pid) from before it opens or replaces
the output until it closes it.  A second writer, or ``--overwrite`` of a file being
written, is refused with that name; the OS releases the lock when the writer dies, so a
killed job resumes without cleaning up.  Readers (``simglass info``, the analyses) take
no lock and see the completed tasks.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np

from . import __version__
from .jobfile import Job, Task, parse_job
from .options import InputError

__all__ = ["ResultsFile", "WriteFailed", "read_results", "read_consistent", "task_groups", "being_written",
           "FORMAT"]

FORMAT = "simglass-results-1"
RESERVE_BYTES = 4 << 20   # the most the writer's reserve file holds back (module docstring)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}   # the storage failed, not the input


class WriteFailed(RuntimeError):
    """Storing a task in the results file failed (disk full, quota, I/O error): the run
    stops; the tasks stored before it are kept, and a rerun resumes.  ``consistent`` is
    False when the file could not be flushed again: then HDF5's state in this process is
    broken (releasing its objects can crash), and the next run salvages the file."""
    consistent = True


def write_error_cause(e: BaseException) -> str:
    """The operating system's reason inside an HDF5 write error ("No space left on
    device (errno 28)"), else the error's first line."""
    m = re.search(r"errno = (\d+), error message = '([^']*)'", str(e))
    if m:
        return f"{m.group(2)} (errno {m.group(1)})"
    if isinstance(e, OSError) and e.errno:
        return f"{os.strerror(e.errno)} (errno {e.errno})"
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


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
        if self.path.is_dir():
            raise InputError(f"output {str(self.path)!r} is a directory; give a file name")
        self._lock = _acquire_writer_lock(self.path)
        self._reserve = self.path.with_name(self.path.name + ".reserve")
        self.failed = None   # the WriteFailed that stopped this writer, if any
        try:
            self._open(job, overwrite)
            _hold_reserve(self._reserve)
            _quiet_h5py_release()
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
                with open(self.path, "rb") as fh:
                    hdf5 = fh.read(8) == b"\x89HDF\r\n\x1a\n"
                if hdf5:   # an HDF5 file that cannot be opened: perhaps damaged by a failed write
                    raise InputError(f"output {str(self.path)!r} is an HDF5 file that cannot be opened for "
                                     f"appending ({e}); it may hold completed tasks: keep it, and choose "
                                     "another output (or move it away) to start afresh") from None
                raise InputError(f"output {str(self.path)!r} exists but is not a readable HDF5 "
                                 f"file ({e}); move it away or pass --overwrite") from None
            if f.attrs.get("format") != FORMAT:
                f.close()
                raise InputError(f"output {str(self.path)!r} is not a simglass results file; "
                                 "choose another output or pass --overwrite")
            diff = _job_difference(f, job)
            if diff:
                f.close()
                raise InputError(f"output {str(self.path)!r} was written by a different job ({diff}, "
                                 "there = the file, here = this job file); pass --overwrite to replace "
                                 "it, or choose another output")
            used = f.attrs.get("options")
            # an option the file does not name was added to the engine later: new options
            # default to the earlier behaviour, so only the options it names must agree
            now = options_used(job)
            diff = {k: (v, now.get(k, "(no longer an option)")) for k, v in json.loads(used).items()
                    if now.get(k, object()) != v} if used is not None else {}
            if diff:
                f.close()
                raise InputError(f"output {str(self.path)!r} was run with other engine options than this "
                                 f"job gives now (stored, now): {diff}; resuming would mix them. Use the "
                                 "stored options (set them explicitly if a default changed), choose another "
                                 "output, or pass --overwrite")
            diff = _couplings_difference(f, job)
            if diff:
                f.close()
                raise InputError(f"output {str(self.path)!r} {diff}; resuming would mix two models. Restore "
                                 "the file, choose another output, or pass --overwrite")
            if _damaged(f):
                f.close()
                f = _salvage(self.path)
            self.f = f
        else:
            try:
                self.f = h5py.File(self.path, "w-")
            except OSError as e:
                if e.errno in _WRITE_ERRNOS:
                    _release(self.path)
                    raise WriteFailed(f"output {str(self.path)!r} cannot be written: "
                                      f"{write_error_cause(e)}; nothing was stored") from None
                raise InputError(f"output {str(self.path)!r} cannot be created: {e}") from None
            try:
                self._write_header(job)
            except (OSError, RuntimeError, ValueError) as e:   # a full disk before the first task
                _quiet_h5py_release()
                try:
                    self.f.close()
                except Exception:
                    pass
                _release(self.path)
                raise WriteFailed(f"output {str(self.path)!r} cannot be written: {write_error_cause(e)}; "
                                  "nothing was stored") from None

    def _write_header(self, job):
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
        if job.couplings is not None:
            a["couplings_file"] = json.dumps(job.couplings.provenance(), sort_keys=True)
        self.f.create_group("tasks")
        self.f.flush()

    def done(self) -> set[str]:
        """Names of the tasks completed successfully."""
        g = self.f["tasks"]
        return {k for k in g if g[k].attrs.get("status") == "done"}

    def _stop(self, task: Task, e: BaseException):
        """A write failed: give back the reserve, flush the file again without the failed
        task (so that it is consistent on disk), and raise WriteFailed."""
        self.failed = WriteFailed(
            f"storing task {task.name} in {str(self.path)!r} failed: {write_error_cause(e)}. "
            f"The tasks stored before it are kept; fix the cause (free space, quota) and rerun "
            "the same command to resume")
        _release(self._reserve)
        try:
            if task.name in self.f["tasks"]:
                del self.f["tasks"][task.name]
            self.f.flush()
        except Exception:   # the next run salvages the completed tasks (module docstring)
            self.failed.consistent = False
        raise self.failed from None

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
        """Store one task (status "done", or "failed" with ``error``) and flush.  Raises
        WriteFailed when the file cannot be written (module docstring)."""
        if self.failed is not None:
            raise self.failed
        try:
            self._write(task, record, wall_time, error, rank)
        except (OSError, RuntimeError, KeyError, ValueError) as e:   # h5py's forms of a failed write
            self._stop(task, e)

    def _write(self, task, record, wall_time, error, rank):
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
        try:   # after a failed write too: closing writes what HDF5 still can, so that the next
            self.f.close()   # run finds a file to open (and salvage); its errors are dropped
        except Exception:
            if self.failed is None:
                raise
        finally:
            _release(self._reserve)
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
    try:   # the holder's name, for a refused second writer; the flock alone is the lock
        os.ftruncate(fh.fileno(), 0)
        os.write(fh.fileno(), f"simglass pid {os.getpid()} on {socket.gethostname()}\n".encode())
    except OSError:   # a full disk: the run stops at its first write, with one line
        pass
    return fh


def _job_difference(f, job: Job) -> str | None:
    """How the job stored in the open results file ``f`` differs from ``job`` in what it
    computes (Job.first_difference), or None.  A stored job this code can no longer
    parse is compared by its canonical text."""
    try:
        stored = parse_job(f.attrs["job_toml"], name="the results file's job")
    except (InputError, KeyError):
        return None if f.attrs.get("job_identity") == job.identity else "its job file no longer parses"
    return job.first_difference(stored)


def _couplings_difference(f, job: Job) -> str | None:
    """How the couplings file of ``job`` differs from the one the open results file ``f``
    was computed from (its attribute ``couplings_file``: path, size, SHA-256), or None."""
    stored = f.attrs.get("couplings_file")
    if job.couplings is None and stored is None:
        return None
    if job.couplings is None:
        return "was computed from a couplings file, and this job reads none"
    if stored is None:
        return (f"was computed without a couplings file, and this job reads {job.couplings.path!r}")
    was = json.loads(stored)
    if was["sha256"] != job.couplings.sha256:
        return (f"was computed from couplings file {was['path']!r} ({was['size']} bytes, SHA-256 "
                f"{was['sha256'][:16]}...), and couplings file {job.couplings.path!r} now has "
                f"{job.couplings.size} bytes, SHA-256 {job.couplings.sha256[:16]}...: it changed")
    return None


def _hold_reserve(path: Path):
    """Create the reserve file (module docstring): min(RESERVE_BYTES, free space / 4)
    bytes actually allocated on the output's filesystem.  Best effort: no reserve where
    the filesystem cannot allocate one."""
    try:
        st = os.statvfs(path.parent)
        size = min(RESERVE_BYTES, st.f_bavail * st.f_frsize // 4)
        with open(path, "wb") as fh:
            if size > 0:
                try:
                    os.posix_fallocate(fh.fileno(), 0, size)
                except OSError:
                    fh.write(b"\0" * size)
                    fh.flush()
                    os.fsync(fh.fileno())
    except OSError:
        _release(path)


def _release(path: Path):
    try:
        path.unlink()
    except OSError:
        pass


def _quiet_h5py_release():
    """When a write fails, h5py's objects report the failed write again each time one is
    released (during the write and at exit): drop those reports in the writing process,
    the failure is reported once, by WriteFailed.  Installed once."""
    import sys
    unraisable, excepthook = sys.unraisablehook, sys.excepthook
    if getattr(excepthook, "simglass_quiet", False):
        return

    def from_h5py(tb) -> bool:
        while tb is not None:
            if "h5py" in tb.tb_frame.f_code.co_filename:
                return True
            tb = tb.tb_next
        return False

    def release_error(typ, value, tb) -> bool:
        return typ is RuntimeError and from_h5py(tb) and (
            "file write failed" in str(value) or "ref count" in str(value))

    def quiet_unraisable(u):
        if not release_error(u.exc_type, u.exc_value, u.exc_traceback):
            unraisable(u)

    def quiet_excepthook(typ, value, tb):   # Cython's __dealloc__ prints through it
        if not release_error(typ, value, tb):
            excepthook(typ, value, tb)
    quiet_excepthook.simglass_quiet = True
    sys.unraisablehook, sys.excepthook = quiet_unraisable, quiet_excepthook


def _damaged(f) -> bool:
    """True if a task group of the open file cannot be opened or has unreadable
    attributes: the trace of a write that failed half way (module docstring)."""
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


def _salvage(path: Path):
    """Copy the root attributes and every completed task that reads back whole into a
    fresh file, keep the damaged one as ``<path>.damaged`` and put the fresh one in its
    place; returns it open for appending.  Prints one line saying what was kept."""
    import sys
    new = path.with_name(path.name + ".salvage")
    damaged = path.with_name(path.name + ".damaged")
    k = 1
    while damaged.exists():   # an earlier salvage's file is kept too
        damaged, k = path.with_name(f"{path.name}.damaged{k}"), k + 1
    kept = lost = 0
    try:
        kept, lost = _copy_readable(path, new)
        os.link(path, damaged)   # the damaged file stays under its new name ...
        os.replace(new, path)    # ... and the output is replaced in one step
    except (OSError, RuntimeError, ValueError) as e:
        _release(new)
        raise WriteFailed(f"salvaging the damaged results file {str(path)!r} failed: {write_error_cause(e)}; "
                          "it is left as it is") from None
    print(f"simglass: {str(path)!r} was damaged by a failed write: kept the {kept} completed tasks "
          f"that read back whole, {lost} others will run again (the damaged file is kept as "
          f"{str(damaged)!r})", file=sys.stderr, flush=True)
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
