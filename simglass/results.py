"""One HDF5 file per job (docs/jobs.md "Results layout").

Root attributes (both layouts): format, simglass_version, git_commit, created, engine,
job_toml (the job file), job_identity (canonical JSON), options (JSON: the engine
options used, defaults filled in), n_tasks, couplings_file and onsite_file (JSON:
path, size and SHA-256 of a job's couplings = "file", onsite = "file"; only then;
couplings_file also n_modes, M, when the file holds mode functions g), engine_package
(JSON: name, version and module of the package an engine from another package comes
from, simglass.plugins.package_of; only then).

The attributes describe the run that created the file.  A resume by another version of
simglass, or of an engine's package, is allowed (what the tasks compute is checked: the
job, the engine options, the input files); the file keeps the versions it was created
with, and a resume by another version of the engine's package says so in one warning
line on stderr (simglass's own version and commit are not compared).

New files have the columnar layout, format "simglass-results-2"
(simglass.column_layout: one row per task in chunked columns, appended in batches in
HDF5's SWMR mode; a kill -9 loses the tasks in flight and the batch not yet written,
at most column_layout.BATCH_SECONDS of work).  Files of format "simglass-results-1"
(simglass.group_layout: one group per task, flushed after each), written by earlier
versions, are read, and resumed in their own layout.  Readers go through
:func:`read_results` and :func:`stored_tasks`, which serve both.

A write that fails (disk full, quota, I/O error, file-size limit) stops the run with
:class:`WriteFailed`, one line naming the task, the file and the cause.  The writer
keeps a reserve file ``<output>.reserve`` (up to 4 MiB, a quarter of the free space at
most) on the same filesystem: on a failure it is deleted and the file flushed again
without the failed task (batch), so a full disk leaves a consistent file.  Where that
flush fails too (an I/O error), the next run finds a file it cannot append to as it
is: it copies every completed task that reads back whole into a fresh file, which
replaces the old one (columnar: the committed rows; group layout: the old file is
kept as ``<output>.damaged``).  Either way only the tasks that were not stored are
computed again.

One writer per file, whatever HDF5's own locking does (``HDF5_USE_FILE_LOCKING=FALSE``
is common on clusters): the writer holds an exclusive ``flock`` on the sidecar file
``<output>.lock`` (it names the writer's host and pid) from before it opens or replaces
the output until it closes it.  A second writer, or ``--overwrite`` of a file being
written, is refused with that name; the OS releases the lock when the writer dies, so a
killed job resumes without cleaning up.  Readers (``simglass info``, the analyses) take
no lock and see the completed tasks (columnar: the batches written).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py

from . import __version__
from . import column_layout, group_layout
from .group_layout import read_group
from .jobfile import Job, Task, parse_job
from .options import InputError
from .plugins import package_of

__all__ = ["ResultsFile", "WriteFailed", "read_results", "read_consistent", "stored_tasks", "StoredTasks",
           "task_groups", "read_group", "being_written", "FORMAT", "FORMATS"]

FORMAT = column_layout.FORMAT                       # written for new files
FORMATS = (group_layout.FORMAT, column_layout.FORMAT)   # read
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



class ResultsFile:
    """The results file of one job, opened by the writing process only.  ``layout``:
    "columns" (format simglass-results-2) or "groups" (simglass-results-1, for tests and
    benchmarks) for a new file; an existing file keeps its own."""

    def __init__(self, path, job: Job, overwrite: bool = False, layout: str = "columns"):
        self.path = Path(path)
        self.job = job
        if layout not in ("columns", "groups"):
            raise ValueError(f"layout = {layout!r}: 'columns' or 'groups'")
        if self.path.is_dir():
            raise InputError(f"output {str(self.path)!r} is a directory; give a file name")
        self._lock = _acquire_writer_lock(self.path)
        self._reserve = self.path.with_name(self.path.name + ".reserve")
        self.failed = None   # the WriteFailed that stopped this writer, if any
        self.f = None
        try:
            self._open(job, overwrite, layout)
            _hold_reserve(self._reserve)
            _quiet_h5py_release()
        except BaseException:
            if self.f is not None:
                self.f.close()
            self._lock.close()
            raise

    def _check(self, f, job):
        """InputError if the open existing file ``f`` cannot be resumed by ``job``."""
        if f.attrs.get("format") not in FORMATS:
            raise InputError(f"output {str(self.path)!r} is not a simglass results file; "
                             "choose another output or pass --overwrite")
        diff = _job_difference(f, job)
        if diff:
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
            raise InputError(f"output {str(self.path)!r} was run with other engine options than this "
                             f"job gives now (stored, now): {diff}; resuming would mix them. Use the "
                             "stored options (set them explicitly if a default changed), choose another "
                             "output, or pass --overwrite")
        diff = _files_difference(f, job)
        if diff:
            raise InputError(f"output {str(self.path)!r} {diff}; resuming would mix two models. Restore "
                             "the file, choose another output, or pass --overwrite")
        change = _engine_package_change(f, job)
        if change:
            print(f"simglass: warning: output {str(self.path)!r} {change}", file=sys.stderr, flush=True)

    def _open(self, job, overwrite, layout):
        if self.path.exists() and overwrite:
            self.path.unlink()
        if not self.path.exists():
            return self._create(job, layout)
        try:
            f, state = column_layout.open_read(self.path, locking=True, pad=True)
        except OSError as e:
            with open(self.path, "rb") as fh:
                hdf5 = fh.read(8) == b"\x89HDF\r\n\x1a\n"
            if hdf5:   # an HDF5 file that cannot be opened: perhaps damaged by a failed write
                raise InputError(f"output {str(self.path)!r} is an HDF5 file that cannot be opened for "
                                 f"appending ({e}); it may hold completed tasks: keep it, and choose "
                                 "another output (or move it away) to start afresh") from None
            raise InputError(f"output {str(self.path)!r} exists but is not a readable HDF5 "
                             f"file ({e}); move it away or pass --overwrite") from None
        with f:
            self._check(f, job)
            fmt = f.attrs["format"]
            if fmt == column_layout.FORMAT:
                specs = column_layout.file_specs(f)
                missing = {k: v for k, v in column_layout.specs_of(_outputs(job)).items() if k not in specs}
                if state != "closed" or missing:   # a stopped writer's file, or columns declared since
                    kept = self._rewrite(f, dict(f.attrs), {**specs, **missing})
                    if state != "closed":
                        print(f"simglass: {str(self.path)!r} was left open by a stopped writer: its {kept} "
                              "completed tasks were copied into a fresh file, the others will run",
                              file=sys.stderr, flush=True)
        if fmt == group_layout.FORMAT:
            f = h5py.File(self.path, "a")
            if group_layout.damaged(f):
                f.close()
                f = group_layout.salvage(self.path, WriteFailed)
            self.f, self.layout = f, group_layout.GroupWriter(f, job)
            return
        try:
            self.f = column_layout.open_swmr_write(self.path)
        except OSError as e:
            raise InputError(f"output {str(self.path)!r} cannot be opened for appending ({e}); it holds "
                             "completed tasks: keep it, and choose another output to start afresh") from None
        self.layout = column_layout.ColumnWriter(self.f, job)

    def _rewrite(self, f, attrs, specs) -> int:
        """column_layout.rewrite, failing with one line (WriteFailed) and no part file left."""
        try:
            return column_layout.rewrite(f, self.path, attrs, specs)
        except (OSError, RuntimeError, ValueError, KeyError) as e:
            _release(self.path.with_name(self.path.name + ".part"))
            raise WriteFailed(f"copying the results file {str(self.path)!r} into a fresh one failed: "
                              f"{write_error_cause(e)}; it is left as it is") from None

    def _create(self, job, layout):
        """A new file: the group layout in place; the columnar one under ``<output>.part``,
        renamed once it is in SWMR mode (simglass.column_layout)."""
        target = self.path if layout == "groups" else self.path.with_name(self.path.name + ".part")
        try:
            self.f = h5py.File(target, "w" if layout == "columns" else "w-",
                               **({"libver": "latest"} if layout == "columns" else {}))
        except OSError as e:
            if e.errno in _WRITE_ERRNOS:
                _release(target)
                raise WriteFailed(f"output {str(self.path)!r} cannot be written: "
                                  f"{write_error_cause(e)}; nothing was stored") from None
            raise InputError(f"output {str(self.path)!r} cannot be created: {e}") from None
        try:
            self._write_header(job, layout)
            if layout == "columns":
                self.f.swmr_mode = True
                os.replace(target, self.path)
                self.layout = column_layout.ColumnWriter(self.f, job)
            else:
                self.layout = group_layout.GroupWriter(self.f, job)
        except (OSError, RuntimeError, ValueError) as e:   # a full disk before the first task
            _quiet_h5py_release()
            try:
                self.f.close()
            except Exception:
                pass
            self.f = None
            _release(target)
            raise WriteFailed(f"output {str(self.path)!r} cannot be written: {write_error_cause(e)}; "
                              "nothing was stored") from None

    def _write_header(self, job, layout):
        a = self.f.attrs
        a["format"] = FORMAT if layout == "columns" else group_layout.FORMAT
        a["simglass_version"] = __version__
        a["git_commit"] = git_commit()
        a["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        a["engine"] = job.engine
        a["job_toml"] = job.text
        a["job_identity"] = job.identity
        a["options"] = json.dumps(options_used(job), sort_keys=True)
        a["n_tasks"] = job.n_tasks
        package = package_of(job.engine)
        if package is not None:     # an engine from another package: which release ran
            a["engine_package"] = json.dumps(package, sort_keys=True)
        for key, source in job.files().items():   # couplings_file, onsite_file
            a[key] = json.dumps(source.provenance(), sort_keys=True)
        if layout == "columns":
            column_layout.create(self.f, job.n_tasks, column_layout.specs_of(_outputs(job)))
            a["batch_tasks"] = column_layout.BATCH_TASKS
            a["batch_seconds"] = column_layout.BATCH_SECONDS
        else:
            group_layout.GroupWriter.create(self.f)
        self.f.flush()

    def done_mask(self):
        """(n_tasks,) numpy bool array: True for the tasks completed successfully."""
        return self.layout.done_mask()

    def done(self) -> set[str]:
        """Names of the tasks completed successfully."""
        mask = self.done_mask()
        return {t.name for t in self.job.tasks() if mask[t.index]}

    def _stop(self, tasks, e: BaseException):
        """A write failed: give back the reserve, flush the file again without the failed
        tasks (so that it is consistent on disk), and raise WriteFailed."""
        what = f"task {tasks[0].name}" if len(tasks) == 1 else \
            f"tasks {tasks[0].name} .. {tasks[-1].name} ({len(tasks)} in one batch)"
        self.failed = WriteFailed(
            f"storing {what} in {str(self.path)!r} failed: {write_error_cause(e)}. "
            f"The tasks stored before it are kept; fix the cause (free space, quota) and rerun "
            "the same command to resume")
        _release(self._reserve)
        try:
            if isinstance(self.layout, group_layout.GroupWriter):
                self.layout.drop(tasks[0])
            else:
                self.layout.drop()
            self.f.flush()
        except Exception:   # the next run copies the completed tasks (module docstring)
            self.failed.consistent = False
        raise self.failed from None

    def write(self, task: Task, record: dict | None, wall_time: float, error: str | None = None,
              rank: int = 0):
        """Store one task (status "done", or "failed" with ``error``): at once in the group
        layout, with the next batch in the columnar one (written when due: :meth:`flush_due`).
        Raises WriteFailed when the file cannot be written (module docstring)."""
        if self.failed is not None:
            raise self.failed
        if isinstance(self.layout, group_layout.GroupWriter):
            try:
                self.layout.write(task, record, wall_time, error, rank)
            except (OSError, RuntimeError, KeyError, ValueError) as e:   # h5py's forms of a failed write
                self._stop([task], e)
            return
        self.layout.add(task, record, wall_time, error, rank)
        self.flush_due()

    def flush_due(self):
        """Write the pending batch if it is due (full, or old: simglass.column_layout)."""
        if self.failed is None and isinstance(self.layout, column_layout.ColumnWriter) and self.layout.due():
            self.flush()

    def flush(self):
        """Write the pending batch now.  Raises WriteFailed as :meth:`write`."""
        if self.failed is not None:
            raise self.failed
        if not isinstance(self.layout, column_layout.ColumnWriter) or not self.layout.batch:
            return
        try:
            self.layout.flush()
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            self._stop([self.job.task(b[0]) for b in self.layout.batch], e)

    def close(self):
        """Write the pending batch and close (also after a failed write: closing writes what
        HDF5 still can, so that the next run finds a file to open; its errors are dropped).
        Raises WriteFailed when the pending batch cannot be written."""
        try:
            if self.failed is None:
                self.flush()
        finally:
            try:
                self.f.close()
            except Exception:
                if self.failed is None:
                    raise
            finally:
                _release(self._reserve)
                self._lock.close()  # releases the flock


def _outputs(job) -> dict:
    from .engines import outputs
    return outputs(job.engine)


READ_RETRY_S = 10.0


class StoredTasks:
    """What a results file holds, by task index (0 .. n_tasks - 1, the order of
    Job.tasks()), in either layout: made by :func:`stored_tasks`.

    Attributes
    ----------
    n_tasks : int
    status : (n_tasks,) int8 array, 0 pending (not stored, or being written), 1 done, 2 failed
    wall_time : (n_tasks,) float array [s] (0 where pending)
    rank : (n_tasks,) int array, the MPI rank that ran the task (-1 where pending)

    Methods
    -------
    record(i) : dict, the record of done task i (numpy arrays / numbers / strings)
    records(indices) : iterator of (i, record) over done tasks
    traceback(i) : str, the error of failed task i
    columns() : {key: (values, present)}, every scalar number or flag of the records as
        (n_tasks,) arrays (present False where a task is not done or lacks the entry)
    """


def stored_tasks(f, job, path):
    """The tasks stored in the open results file ``f`` of ``job`` (from
    :func:`read_results`), as a :class:`StoredTasks`.  A task a running job is writing
    counts as pending.  Raises OSError, RuntimeError or KeyError (h5py's) when the file
    changes under the read: :func:`read_consistent` then reads it again."""
    n_tasks = len(job.points()) * job.realizations
    if f.attrs.get("format") == group_layout.FORMAT:
        return group_layout.GroupTasks(f, n_tasks, len(job.points()), being_written(path))
    return column_layout.ColumnTasks(f, n_tasks)


def task_groups(f, path):
    """(name, group) of the readable task groups of an open group-layout results file
    (simglass.group_layout.task_groups); nothing for a columnar file."""
    if "tasks" not in f:
        return iter(())
    return group_layout.task_groups(f, being_written(path))


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


def _files_difference(f, job: Job) -> str | None:
    """How a file ``job`` reads (couplings file, onsite file) differs from the one the
    open results file ``f`` was computed from (its attributes ``couplings_file``,
    ``onsite_file``: path, size, SHA-256), or None."""
    from .couplings_file import FILE_KEYS
    files = job.files()
    for key in FILE_KEYS:
        what = key.replace("_", " ")       # "couplings file", "onsite file"
        stored, now = f.attrs.get(key), files.get(key)
        if stored is None and now is None:
            continue
        if now is None:
            return f"was computed from {what} {json.loads(stored)['path']!r}, and this job reads none"
        if stored is None:
            return f"was computed without any {what}, and this job reads {what} {now.path!r}"
        was = json.loads(stored)
        if was["sha256"] != now.sha256:
            return (f"was computed from {what} {was['path']!r} ({was['size']} bytes, SHA-256 "
                    f"{was['sha256'][:16]}...), and {what} {now.path!r} now has "
                    f"{now.size} bytes, SHA-256 {now.sha256[:16]}...: it changed")
    return None


def _engine_package_change(f, job: Job) -> str | None:
    """How the package of ``job``'s engine differs in name or version from the one the
    open results file ``f`` was created with (its attribute ``engine_package``), or None
    (also for a file that records none)."""
    stored = f.attrs.get("engine_package")
    if stored is None:
        return None
    was, now = json.loads(stored), package_of(job.engine)
    if now is None or (was["name"], was["version"]) == (now["name"], now["version"]):
        return None
    other = now["version"] if now["name"] == was["name"] else f"package {now['name']} {now['version']}"
    return (f"was created with engine {job.engine!r} of package {was['name']} {was['version']} and is resumed "
            f"with {other}: the tasks of this run come from {now['version']}, the file records "
            f"{was['version']} only")


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


def options_used(job: Job) -> dict:
    """The engine options of ``job`` with defaults filled in, as JSON-compatible values."""
    return json.loads(json.dumps(job.options, sort_keys=True, default=list))


def read_results(path):
    """Open a results file for reading; returns (h5py.File, Job).  A file that a running
    or killed writer holds in SWMR mode is opened for SWMR reading (its written batches).
    Raises InputError for a missing file, a file from another program or format version."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"results file {str(path)!r} not found")
    deadline = time.monotonic() + READ_RETRY_S
    while True:
        try:
            # no file lock: a running job's file can be read (its completed tasks are flushed)
            f, _ = column_layout.open_read(path, pad=False)
            break
        except OSError as e:
            # the writer may be between extending the file and flushing its superblock
            # ("truncated file"): retry while a writer holds the lock, for READ_RETRY_S
            if being_written(path) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise InputError(f"results file {str(path)!r} cannot be opened as HDF5: {e}") from None
    fmt = f.attrs.get("format")
    if fmt not in FORMATS:
        f.close()
        raise InputError(f"results file {str(path)!r} has format {fmt!r}; this simglass reads "
                         + " and ".join(map(repr, FORMATS)))
    group = "tasks" if fmt == group_layout.FORMAT else "rows"
    if group not in f:
        f.close()
        raise InputError(f"results file {str(path)!r} has no {group!r} group (damaged?)")
    job = parse_job(f.attrs["job_toml"], name=os.fspath(path))
    if "options" in f.attrs:  # the options the tasks ran with, not today's defaults
        job.options = json.loads(f.attrs["options"])
    return f, job
