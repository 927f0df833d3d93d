"""The columnar layout of results files (format "simglass-results-2", issue 36): one
row per stored attempt of a task, every record entry a column, appended in batches to
chunked, extendable datasets, in HDF5's single-writer/multiple-reader mode (SWMR).

Layout (n_tasks = the job's tasks, n = rows committed)::

    /done             (n_tasks,) int8   the done map: 0 pending, 1 done, 2 failed
    /row              (n_tasks,) int64  the row of the task's latest stored attempt, -1 none
    /n_rows           (1,) int64        rows committed: rows >= n_rows are ignored
    /rows/index       (n,) int64        task index of each row (a task run again, e.g.
                                        failed then resumed, has several rows; /row
                                        names the one that counts)
    /rows/status      (n,) int8         1 done, 2 failed
    /rows/wall_time   (n,) float64      [s]
    /rows/rank        (n,) int32        the MPI rank that ran it (0 serially)
    /rows/traceback   ragged string: the error of a failed task
    /columns/<key>    one per entry of the engine's OUTPUTS (simglass.outputs),
                      attrs kind ("float", "int", "bool", "str"), ndim
        scalars:      values (n,) float64 | int64 | bool, present (n,) bool
        arrays, str:  values (total,) flat data (str: UTF-8 bytes), shape (n, ndim)
                      int64 (first entry -1: absent), start (n,) int64 offset of the
                      row's data in values

A task's point and realisation follow from its index (simglass.jobfile.Job.tasks), its
parameters and seed from the job stored in the root attributes.

Writing.  Rows are appended in batches: a batch is written when it holds BATCH_TASKS
tasks (or BATCH_BYTES of record data) or when BATCH_SECONDS have passed since its first
task began.  A batch is written
in two flushes: first the rows (datasets extended and filled), then /n_rows, /done and
/row.  Readers take only rows below /n_rows and map entries that point below it, so the
file read at any moment, or after a kill, is the state after some whole batch.

SWMR.  The writer holds the file in SWMR mode from its first byte on disk: a new file is
made under ``<output>.part`` and renamed once SWMR is on, and an existing file is opened
straight into SWMR mode (HDF5's ``H5F_ACC_SWMR_WRITE``).  SWMR forbids creating datasets,
so every column is created from the engine's ``OUTPUTS`` with the file; a record entry
the engine does not declare makes the task "failed" with a one-line reason.  A file
killed in SWMR mode keeps HDF5's "open for writing" flags: it opens only for SWMR
reading, which shows the committed batches; h5py cannot clear the flags (h5clear
can), so the next writer copies the committed rows into a fresh file and replaces the
old one (:func:`rewrite`, also used to add the columns of outputs declared since).  A
write that failed (disk full, file-size limit) can leave the file shorter than its
superblock says: readers then read the missing end as zeros, and the next writer pads
it and copies the committed rows likewise (:func:`open_read`).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import h5py
import numpy as np
from h5py import h5f, h5p

FORMAT = "simglass-results-2"
BATCH_TASKS = 1000     # a batch is written when it holds this many tasks ...
BATCH_SECONDS = 1.0    # ... or when its first task began this long ago [s]
BATCH_BYTES = 64 << 20   # ... or when its arrays hold this many bytes (memory of rank 0)
CHUNK_ROWS = 4096      # rows per chunk of the row-aligned datasets (fewer for a job of fewer tasks)
COPY_ELEMENTS = 1 << 22
_DTYPE = {"float": np.float64, "int": np.int64, "bool": np.bool_, "str": np.uint8}


# scalar types that a column of each kind takes without conversion (ColumnWriter._encode)
_EXACT = {"float": (float, np.float64), "int": (int, np.int64), "bool": (bool, np.bool_)}


class Spec:
    """How one column is stored: ``kind`` (simglass.outputs.KINDS) and ``ndim`` (array
    axes; 1 for a string, which is stored as its bytes)."""

    def __init__(self, kind: str, ndim: int):
        self.kind, self.ndim = kind, ndim
        self.dtype = np.dtype(_DTYPE[kind])
        self.ragged = kind == "str" or ndim > 0


def specs_of(outputs: dict) -> dict:
    """{key: Spec} of an engine's OUTPUTS (simglass.engines.outputs)."""
    return {k: Spec(o.kind, 1 if o.kind == "str" else o.ndim) for k, o in outputs.items()}


def file_specs(f) -> dict:
    """{key: Spec} of the columns of an open file."""
    return {k: Spec(str(g.attrs["kind"]), int(g.attrs["ndim"])) for k, g in f["columns"].items()}


def _extendable(group, name, dtype, chunk, width=None):
    shape = (0,) if width is None else (0, width)
    chunks = (chunk,) if width is None else (chunk, width)
    return group.create_dataset(name, shape=shape, maxshape=(None,) + shape[1:], chunks=chunks, dtype=dtype)


def _column(group, spec: Spec, chunk: int):
    group.attrs["kind"] = spec.kind
    group.attrs["ndim"] = spec.ndim
    if spec.ragged:
        group.create_dataset("values", shape=(0,), maxshape=(None,), dtype=spec.dtype,
                             chunks=(max(1024, min(16 * chunk, 65536 // spec.dtype.itemsize)),))
        _extendable(group, "shape", np.int64, chunk, spec.ndim)
        _extendable(group, "start", np.int64, chunk)
        return
    _extendable(group, "values", spec.dtype, chunk)
    _extendable(group, "present", np.bool_, chunk)


def create(f, n_tasks: int, specs: dict):
    """The datasets of an empty columnar file (``f`` open for writing, not yet in SWMR mode)."""
    chunk = (min(n_tasks, 1 << 16),)
    f.create_dataset("done", shape=(n_tasks,), dtype=np.int8, chunks=chunk, fillvalue=0)
    f.create_dataset("row", shape=(n_tasks,), dtype=np.int64, chunks=chunk, fillvalue=-1)
    f.create_dataset("n_rows", data=np.zeros(1, np.int64))
    rows = f.create_group("rows")
    rows_chunk = int(min(CHUNK_ROWS, max(64, n_tasks)))   # small jobs, small files
    for name, dt in (("index", np.int64), ("status", np.int8), ("wall_time", np.float64), ("rank", np.int32)):
        _extendable(rows, name, dt, rows_chunk)
    _column(rows.create_group("traceback"), Spec("str", 1), rows_chunk)
    cols = f.create_group("columns")
    for key, spec in specs.items():
        _column(cols.create_group(key), spec, rows_chunk)


def open_swmr_write(path) -> h5py.File:
    """Open an existing columnar file straight into SWMR writing (no moment in which a
    kill would leave it unreadable).  Raises OSError as h5py does."""
    fapl = h5p.create(h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5f.LIBVER_LATEST, h5f.LIBVER_LATEST)
    fid = h5f.open(os.fsencode(os.fspath(path)), h5f.ACC_RDWR | h5f.ACC_SWMR_WRITE, fapl=fapl)
    return h5py.File(fid)


def open_read(path, locking=False, pad=False) -> tuple[h5py.File, str]:
    """(file, state) of a results file opened for reading.  state: "closed" (opened
    normally), "left_open" (HDF5 says it is open for writing: a running or killed SWMR
    writer; opened for SWMR reading), or "short" (shorter than its superblock says: the
    end of a write that failed; opened with the missing bytes read as zeros or, with
    ``pad``, padded with zeros on disk: only for the writer, which holds the lock).
    Raises OSError as h5py does."""
    try:
        return h5py.File(path, "r", locking=locking), "closed"
    except OSError as e:
        msg = str(e)
    eof = _stored_eof(path) if "truncated file" in msg else None
    if eof is not None and pad:
        os.truncate(path, eof)
        f, state = open_read(path, locking)
        return f, "short" if state == "closed" else state
    if eof is not None:
        return h5py.File(_Padded(path, eof), "r"), "short"
    if "already open for write" not in msg:
        raise OSError(msg)
    try:
        return h5py.File(path, "r", locking=locking, swmr=True, libver="latest"), "left_open"
    except OSError as e:
        eof = _stored_eof(path) if "truncated file" in str(e) else None
        if eof is None or not pad:
            raise
    os.truncate(path, eof)   # a stopped writer's flags and a short end: only the writer pads
    return h5py.File(path, "r", locking=locking, swmr=True, libver="latest"), "left_open"


def _stored_eof(path) -> int | None:
    """The end-of-file address in the superblock (versions 2 and 3) of an HDF5 file, or None."""
    with open(path, "rb") as fh:
        head = fh.read(48)
    if head[:8] != b"\x89HDF\r\n\x1a\n" or len(head) < 12 or head[8] not in (2, 3):
        return None
    size = head[9]
    at = 12 + 2 * size
    return int.from_bytes(head[at:at + size], "little") if len(head) >= at + size else None


class _Padded(io.RawIOBase):
    """A file read as if it were ``size`` bytes long, zeros past its real end (h5py's
    file-object driver)."""

    def __init__(self, path, size: int):
        self.fh = open(path, "rb")
        self.real = os.fstat(self.fh.fileno()).st_size
        self.size, self.pos = max(size, self.real), 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.size + offset
        return self.pos

    def tell(self):
        return self.pos

    def readinto(self, b):
        self.fh.seek(self.pos)
        data = self.fh.read(max(0, min(len(b), self.real - self.pos)))
        end = max(0, min(len(b), self.size - self.pos))
        b[:len(data)] = data
        b[len(data):end] = bytes(end - len(data))
        self.pos += end
        return end

    def close(self):
        self.fh.close()
        super().close()


def _ends(f, n: int) -> dict:
    """{column path: end of its committed data in values} for every ragged column."""
    out = {}
    for name, g in [("rows/traceback", f["rows/traceback"])] + [(f"columns/{k}", g) for k, g in f["columns"].items()]:
        if "start" in g:
            if n == 0:
                out[name] = 0
            else:
                shape = g["shape"][n - 1]
                out[name] = int(g["start"][n - 1]) + (int(np.prod(shape)) if shape[0] >= 0 else 0)
    return out


def _put(ds, lo: int, data):
    """Write rows lo.. of an extendable dataset (extended or cut to end there)."""
    hi = lo + len(data)
    if ds.shape[0] != hi:
        ds.resize(hi, axis=0)
    if len(data):
        ds[lo:hi] = data


class ColumnWriter:
    """Appends task records to an open columnar file in SWMR mode, in batches (module
    docstring).  ``add`` keeps a task, ``due`` says a batch should be written, ``flush``
    writes it (h5py raises OSError or RuntimeError when the storage fails)."""

    def __init__(self, f, job):
        self.f = f
        self.job = job
        self.specs = file_specs(f)
        self.n = int(f["n_rows"][0])
        self.ends = _ends(f, self.n)
        self.batch = []
        self.started = None   # time.monotonic() at which the batch's first task began
        self.bytes = 0        # of the batch's record entries
        # every dataset stays open while writing: HDF5 writes a dataset's cached chunks when
        # it is released, and h5py drops an error there (a full disk) instead of raising it
        self._open = {}
        f.visititems(lambda name, obj: self._open.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)

    def _d(self, name) -> h5py.Dataset:
        return self._open[name]

    def done_mask(self) -> np.ndarray:
        """(n_tasks,) bool: the tasks stored as done."""
        done, row = self._d("done")[:], self._d("row")[:]
        return (done == 1) & (row >= 0) & (row < self.n)

    def add(self, task, record, wall_time, error, rank):
        """Keep one task for the next batch; a record that cannot be stored (an entry not
        declared in OUTPUTS, of another number of axes or not numeric) makes it failed."""
        entry = {}
        if error is None:
            try:
                entry = self._encode(record)
            except (TypeError, ValueError) as e:
                error = f"could not store the engine's record: {e}"
        if not self.batch:
            self.started = time.monotonic() - wall_time
            self.bytes = 0
        self.bytes += 8 * len(entry) + sum(a.nbytes for a in entry.values() if type(a) is np.ndarray)
        self.batch.append((task.index, 1 if error is None else 2, wall_time, rank, entry,
                           None if error is None else np.frombuffer(error.encode(), np.uint8)))

    def _encode(self, record: dict) -> dict:
        out = {}
        for key, value in record.items():
            spec = self.specs.get(key)
            if spec is None:
                raise TypeError(f"engine output {key!r} is not declared in the engine's OUTPUTS "
                                "(simglass.outputs), so the results file has no column for it")
            if type(value) in _EXACT.get(spec.kind, ()) and spec.ndim == 0 and (     # the common scalars,
                    spec.kind != "int" or -2**63 <= value < 2**63):                   # stored as they are
                out[key] = value
                continue
            if spec.kind == "str":
                if not isinstance(value, str):
                    raise TypeError(f"engine output {key!r} is declared a string, got {type(value).__name__}")
                out[key] = np.frombuffer(value.encode(), np.uint8)
                continue
            a = np.asarray(value)
            if a.dtype == object or a.dtype.kind not in "biuf":
                raise TypeError(f"engine output {key!r} is not numeric: {type(value).__name__}")
            if a.ndim != spec.ndim:
                raise ValueError(f"engine output {key!r} has {a.ndim} axes, its OUTPUTS declaration {spec.ndim}")
            # numpy casts within a kind silently; uint64 -> int64 wraps values >= 2**63
            if (not np.can_cast(a.dtype, spec.dtype, "same_kind") or (spec.kind == "bool" and a.dtype.kind != "b")
                    or (a.dtype.kind == "u" and spec.kind == "int")):
                c = a.astype(spec.dtype)
                if not np.array_equal(c, a, equal_nan=c.dtype.kind == "f"):
                    raise TypeError(f"engine output {key!r} is {a.dtype}, declared {spec.kind}")
                a = c
            out[key] = a.astype(spec.dtype, copy=False)
        return out

    def due(self) -> bool:
        return bool(self.batch) and (len(self.batch) >= BATCH_TASKS or self.bytes >= BATCH_BYTES
                                     or time.monotonic() - self.started >= BATCH_SECONDS)

    def _ragged(self, name, pieces):
        """Write the rows' pieces (arrays, or None: absent) of the ragged column ``name``."""
        values, shape_ds, start_ds = (self._d(f"{name}/{x}") for x in ("values", "shape", "start"))
        ndim = shape_ds.shape[1]
        shape = np.full((len(pieces), ndim), -1, np.int64)
        start = np.empty(len(pieces), np.int64)
        end = self.ends[name]
        for j, a in enumerate(pieces):
            start[j] = end
            if a is not None:
                shape[j] = a.shape
                end += a.size
        data = [a.ravel() for a in pieces if a is not None and a.size]
        _put(values, self.ends[name], np.concatenate(data) if data else np.empty(0, values.dtype))
        _put(shape_ds, self.n, shape)
        _put(start_ds, self.n, start)
        return end

    def flush(self):
        """Write the batch (module docstring).  On an error the batch is kept and the file
        holds the rows committed before it."""
        if not self.batch:
            return
        f, n, k = self.f, self.n, len(self.batch)
        index = np.array([b[0] for b in self.batch], np.int64)
        status = np.array([b[1] for b in self.batch], np.int8)
        d = self._d
        _put(d("rows/index"), n, index)
        _put(d("rows/status"), n, status)
        _put(d("rows/wall_time"), n, np.array([b[2] for b in self.batch], np.float64))
        _put(d("rows/rank"), n, np.array([b[3] for b in self.batch], np.int32))
        ends = {"rows/traceback": self._ragged("rows/traceback", [b[5] for b in self.batch])}
        for key, spec in self.specs.items():
            if spec.ragged:
                ends[f"columns/{key}"] = self._ragged(f"columns/{key}", [b[4].get(key) for b in self.batch])
                continue
            got = [b[4].get(key) for b in self.batch]
            present = np.array([v is not None for v in got], np.bool_)
            values = np.zeros(k, spec.dtype)
            if present.any():
                values[present] = [v for v in got if v is not None]
            _put(d(f"columns/{key}/values"), n, values)
            _put(d(f"columns/{key}/present"), n, present)
        f.flush()                       # the rows are on disk before anything points to them
        d("n_rows")[0] = n + k
        _write_map(d("done"), index, status)
        _write_map(d("row"), index, np.arange(n, n + k, dtype=np.int64))
        f.flush()
        self.n = n + k
        self.ends.update(ends)
        self.batch = []

    def drop(self):
        """After a failed write: forget the batch (its tasks are pending)."""
        self.batch = []


def _write_map(ds, index, values):
    """ds[index] = values (a later entry wins) for a (n_tasks,) map: one read and write
    of the span the indices cover, or a point selection where that span is wide."""
    order = np.argsort(index, kind="stable")
    index, values = index[order], values[order]
    last = np.r_[index[1:] != index[:-1], True]        # the last of equal indices
    index, values = index[last], values[last]
    lo, hi = int(index[0]), int(index[-1]) + 1
    if hi - lo <= 64 * len(index) + 4096:
        span = ds[lo:hi]
        span[index - lo] = values
        ds[lo:hi] = span
    else:
        ds[index] = values


class ColumnTasks:
    """The stored tasks of an open columnar file, by task index (simglass.results.StoredTasks
    describes the interface)."""

    def __init__(self, f, n_tasks: int):
        self.f = f
        self.n_tasks = n_tasks
        n = int(f["n_rows"][0])
        done, row = f["done"][:n_tasks], f["row"][:n_tasks]
        valid = (done > 0) & (row >= 0) & (row < n)
        self.status = np.where(valid, done, 0).astype(np.int8)
        self.row = np.where(valid, row, -1)
        self._n = n
        r = self.row[valid]
        self.wall_time = np.zeros(n_tasks)
        self.rank = np.full(n_tasks, -1, np.int64)
        if r.size:
            self.wall_time[valid] = f["rows/wall_time"][:n][r]
            self.rank[valid] = f["rows/rank"][:n][r]
        self.specs = file_specs(f)

    def keys(self):
        return list(self.specs)

    def columns(self) -> dict:
        """{key: (values, present)} of every scalar number or flag column: arrays of length
        n_tasks (present False where the task is not done or did not store it)."""
        out = {}
        ok = self.status == 1
        r = self.row[ok]
        for key, spec in self.specs.items():
            if spec.ragged:
                continue
            g = self.f["columns"][key]
            values = np.zeros(self.n_tasks, spec.dtype)
            present = np.zeros(self.n_tasks, np.bool_)
            if r.size:
                values[ok] = g["values"][:self._n][r]
                present[ok] = g["present"][:self._n][r]
            if present.any():
                out[key] = (values, present)
        return out

    def _read_row(self, g, spec, r: int):
        if not spec.ragged:
            return g["values"][r] if g["present"][r] else None
        shape = g["shape"][r]
        if shape[0] < 0:
            return None
        s = int(g["start"][r])
        a = g["values"][s:s + int(np.prod(shape))].reshape(shape)
        return bytes(a).decode() if spec.kind == "str" else a

    def record(self, i: int) -> dict:
        r = int(self.row[i])
        out = {}
        for key, spec in self.specs.items():
            v = self._read_row(self.f["columns"][key], spec, r)
            if v is not None:
                out[key] = v
        return out

    def traceback(self, i: int) -> str:
        v = self._read_row(self.f["rows/traceback"], Spec("str", 1), int(self.row[i]))
        return v or ""

    def records(self, indices):
        """(index, record) of the given done tasks, each column read whole once."""
        indices = np.asarray(indices, np.int64)
        if not indices.size:
            return
        rows = self.row[indices]
        cols = {}
        for key, spec in self.specs.items():
            g = self.f["columns"][key]
            if spec.ragged:
                shape, start = g["shape"][:self._n], g["start"][:self._n]
                size = np.where(shape[rows, 0] >= 0, np.prod(np.maximum(shape[rows], 0), axis=1), 0)
                end = int((start[rows] + size).max())
                cols[key] = (spec, g["values"][:end], shape, start)
            else:
                cols[key] = (spec, g["values"][:self._n], g["present"][:self._n], None)
        for i, r in zip(indices, rows):
            rec = {}
            for key, (spec, values, a, b) in cols.items():
                if not spec.ragged:
                    if a[r]:
                        rec[key] = values[r]
                elif a[r][0] >= 0:
                    v = values[b[r]:b[r] + int(np.prod(a[r]))].reshape(a[r])
                    rec[key] = bytes(v).decode() if spec.kind == "str" else v.copy()
            yield int(i), rec


def rewrite(src, path: Path, attrs: dict, specs: dict):
    """Copy the committed rows of the open columnar file ``src`` (of ``path``) into
    ``<path>.part`` with the columns ``specs`` (those of the file, plus any new ones: absent
    in the copied rows) and root attributes ``attrs``, and put it in place of ``path``.
    Returns the number of done tasks kept.  Raises OSError, RuntimeError as h5py does (the
    original file is then left as it is)."""
    part = path.with_name(path.name + ".part")
    with h5py.File(part, "w", libver="latest") as dst:
        n = int(src["n_rows"][0])
        n_tasks = src["done"].shape[0]
        for k, v in attrs.items():
            dst.attrs[k] = v
        create(dst, n_tasks, specs)
        done, row = src["done"][:], src["row"][:]
        valid = (done > 0) & (row >= 0) & (row < n)
        dst["done"][:] = np.where(valid, done, 0)
        dst["row"][:] = np.where(valid, row, -1)
        dst["n_rows"][0] = n
        old = set(src["columns"])
        ends = _ends(src, n)
        for name in ["rows/index", "rows/status", "rows/wall_time", "rows/rank", "rows/traceback"] + \
                [f"columns/{k}" for k in specs]:
            if name.startswith("columns/") and name[8:] not in old:
                _absent(dst[name], specs[name[8:]], n)
                continue
            s, d = src[name], dst[name]
            if isinstance(s, h5py.Dataset):
                _copy(s, d, n)
                continue
            for sub in s:
                _copy(s[sub], d[sub], ends.get(name, 0) if sub == "values" and "start" in s else n)
        kept = int((valid & (done == 1)).sum())
    os.replace(part, path)
    return kept


def _copy(src, dst, length: int):
    dst.resize(length, axis=0)
    step = max(1, COPY_ELEMENTS // max(1, int(np.prod(src.shape[1:]))))
    for lo in range(0, length, step):
        dst[lo:min(length, lo + step)] = src[lo:min(length, lo + step)]


def _absent(g, spec: Spec, n: int):
    """A new column for n rows that do not have it."""
    if spec.ragged:
        g["shape"].resize(n, axis=0)
        g["shape"][:] = -1
        g["start"].resize(n, axis=0)
        g["start"][:] = 0
    else:
        g["values"].resize(n, axis=0)
        g["present"].resize(n, axis=0)   # fill value: False
