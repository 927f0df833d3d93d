"""Runs the tasks of a job serially or over MPI ranks, writing one HDF5 file.

Under ``mpiexec -n K`` rank 0 is the master: it hands out task indices as workers
report (dynamic load balancing; each worker holds up to AHEAD chunks, so that the next
one is waiting when it finishes; a chunk is one task, or about CHUNK_SECONDS of work
when tasks are shorter: _Dispatch), keeps every result as it arrives, writes them in batches
(simglass.column_layout: when a batch is full or old, also while it waits) and shows
progress; ranks 1..K-1 compute.  The master sleeps while it waits, so K = cores + 1 is the natural
choice.

With more than FLAT_MAX workers (or ``servers`` > 0) ranks 1..S are task servers
(serving_ranks): rank 0 hands each server chunks of task indices as it asks for them and
receives their results in batches (at most SERVER_BATCH results per message, at least
one message per SERVER_SECONDS), so that rank 0 receives one message per batch instead of
one per task; each server hands its own workers (every S-th rank above S) chunks, as
the flat master does.  The hand-out stays dynamic; a task's seeds and results
depend on its index only, not on the ranks.

The runner knows nothing about physics: a task is run by :func:`simglass.tasks.run_task`.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from .jobfile import Job
from .options import InputError
from .results import ResultsFile, WriteFailed
from .tasks import run_task

__all__ = ["run_job", "RunSummary", "RunStopped", "mpi_world", "outlive_workers", "serving_ranks"]

_MPI_ENV = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
TAG_WORK, TAG_RESULT, TAG_ABORT, TAG_BYE = 1, 2, 3, 4


THREAD_VARS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def mpi_world():
    """COMM_WORLD if launched by an MPI launcher with more than one rank, else None (and
    then each rank's numba and BLAS threads are limited to its share, share_cores).
    mpi4py is only imported under a launcher, so serial runs never initialise MPI."""
    if not any(k in os.environ for k in _MPI_ENV):
        return None
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    if comm.Get_size() < 2:
        return None
    share_cores(comm)
    return comm


def numba_follows_omp() -> int | None:
    """numba's thread count set to OMP_NUM_THREADS when the user set that and not
    NUMBA_NUM_THREADS (numba reads only its own variable: ``OMP_NUM_THREADS=1 mpiexec
    -n 3 simglass run`` left each worker with one numba thread per core, so the
    threaded ED and saddle-point kernels of two workers shared two cores four ways,
    and ED on small sectors, whose kernels wait for every thread at each step, ran 10-100
    times slower).  Returns the count set, or None (nothing to follow, or not a
    positive integer)."""
    if "NUMBA_NUM_THREADS" in os.environ or "OMP_NUM_THREADS" not in os.environ:
        return None
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        return None
    if n < 1:
        return None
    import numba
    n = min(n, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    return n


def share_cores(comm) -> int | None:
    """Limit this rank's numba and BLAS thread pools to its share of the node's cores:
    the cores this process may use, divided among the node's working ranks (rank 0 only
    hands out tasks and sleeps).  Each pool is left to the user when they set its
    variables: numba when NUMBA_NUM_THREADS or OMP_NUM_THREADS is set (then it follows
    OMP_NUM_THREADS, numba_follows_omp), BLAS when OMP_NUM_THREADS,
    OPENBLAS_NUM_THREADS or MKL_NUM_THREADS is.  Returns the share, or None when
    both pools were left to the user."""
    env = os.environ
    numba_set = "NUMBA_NUM_THREADS" in env or "OMP_NUM_THREADS" in env
    blas_set = any(v in env for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))
    if numba_set:
        numba_follows_omp()
    if numba_set and blas_set:
        return None
    n = _rank_share(comm)
    if not numba_set:
        import numba
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    if not blas_set:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    return n


def _rank_share(comm) -> int:
    """The cores this process may use divided by the working ranks on its node."""
    from mpi4py import MPI
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    workers = sum(r != 0 for r in node.allgather(comm.Get_rank()))
    node.Free()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores // max(workers, 1))


@dataclass
class RunSummary:
    total: int
    skipped: int = 0
    done: int = 0
    failed: list = field(default_factory=list)  # task names
    wall_time: float = 0.0


def _execute(job: Job, task):
    t0 = time.perf_counter()
    try:
        record, error = run_task(job, task), None
    except Exception:  # a failing task is recorded, the job goes on
        record, error = None, traceback.format_exc()
    return record, error, time.perf_counter() - t0


class _Progress:
    def __init__(self, total, initial, enabled):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            tty = sys.stderr.isatty()
            self.bar = tqdm(total=total, initial=initial, unit="task", file=sys.stderr,
                            mininterval=0.5 if tty else 30.0, dynamic_ncols=True)
        self.failed = 0

    def update(self, failed: bool):
        if self.bar is not None:
            if failed:
                self.failed += 1
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_job(job: Job, output: str | None = None, overwrite: bool = False, progress: bool = True,
            comm=None, layout: str = "columns", servers: int | None = None) -> RunSummary:
    """Run (or resume) every task of ``job``; see the module docstring for MPI.
    ``layout``: of a new results file (simglass.results.ResultsFile).  ``servers``: task
    servers under MPI (serving_ranks; None: automatic, 0: rank 0 serves every worker);
    ignored serially.

    Raises InputError for a job or an output that cannot run, or a ``servers`` count
    that leaves a server without workers (before anything is written);
    exceptions inside a task are stored with the task (status failed) and do not stop
    the job.  Raises WriteFailed when a task cannot be stored (disk full, I/O error):
    the tasks stored before it are kept; under MPI every rank ends normally, the tasks
    in flight are lost.
    """
    output = output or job.output
    for key in ("couplings", "onsite"):
        if job.model.get(key) == "file" and f"{key}_file" not in job.files():
            raise InputError(f"{key} = 'file': the {key} file has not been checked; load the job with "
                             "simglass.jobfile.load_job (or parse_job with base_dir)")
    rank = comm.Get_rank() if comm is not None else 0
    n_servers = serving_ranks(comm.Get_size(), servers) if comm is not None else 0
    if comm is None:
        numba_follows_omp()
    t0 = time.perf_counter()
    if rank != 0:
        if rank <= n_servers:
            _serve(comm, _served_by(comm.Get_size(), n_servers, rank))
        else:
            _worker(job, comm, _server_of(rank, n_servers))
        comm.Barrier()   # every rank ends together: see _master
        if comm.bcast(None, root=0):   # rank 0 stopped the run (bad output, failed write)
            raise RunStopped("stopped by rank 0")
        return RunSummary(total=job.n_tasks)
    try:
        results = ResultsFile(output, job, overwrite=overwrite, layout=layout)
    except (InputError, WriteFailed) as e:
        if comm is not None:
            for r in range(1, comm.Get_size()):
                comm.send(None, dest=r, tag=TAG_ABORT)
            comm.Barrier()
            comm.bcast(True, root=0)
        raise e
    summary = RunSummary(total=job.n_tasks)
    bar = None
    try:
        pending = np.flatnonzero(~results.done_mask()).tolist()    # task indices, in order
        summary.skipped = job.n_tasks - len(pending)
        bar = _Progress(job.n_tasks, summary.skipped, progress)

        def store(index, record, error, wall, src):
            task = job.task(index)
            results.write(task, record, wall, error, rank=src)
            if error is None:
                summary.done += 1
            else:
                summary.failed.append(task.name)
            bar.update(error is not None)

        if comm is None:
            for index in pending:
                store(index, *_execute(job, job.task(index)), 0)
        elif n_servers == 0:
            _master(pending, comm, store, results.flush_due)
        else:
            _top(pending, comm, store, results.flush_due, n_servers)
    finally:
        if bar is not None:
            bar.close()
        results.close()
    summary.wall_time = time.perf_counter() - t0
    return summary


AHEAD = 2             # chunks handed to a worker before it reports: the next one waits in its inbox
CHUNK_SECONDS = 0.1   # work per chunk once task times are known (one task per chunk before)
MAX_CHUNK = 256       # tasks per chunk, at most


class _Dispatch:
    """Hands a queue of task indices to ``workers`` in chunks (lists of indices), AHEAD
    chunks per worker at most, so that a worker finds its next chunk waiting.  A chunk
    holds one task until task times are known, then about CHUNK_SECONDS of work (at most
    MAX_CHUNK tasks, and at most 1 / (2 × workers) of the queue, so that the end of a
    run stays balanced), from a moving average of the task times of the chunks reported
    (weight 0.3 for the newest): tasks of CHUNK_SECONDS or more go one at a time, trivial
    tasks in chunks, so that neither the messages nor rank 0's polling set the pace."""

    def __init__(self, comm, workers, queue=()):
        from collections import deque
        self.comm = comm
        self.held = {w: 0 for w in workers}     # chunks handed out, not yet reported
        self.queue = deque(queue)
        self.done = 0                           # tasks reported
        self.task_time = None                   # moving average over the chunks reported [s]

    def _chunk(self):
        k = 1 if self.task_time is None else int(CHUNK_SECONDS / max(self.task_time, 1e-9))
        return max(1, min(k, MAX_CHUNK, len(self.queue) // (2 * len(self.held))))

    def _give(self, w):
        chunk = [self.queue.popleft() for _ in range(min(self._chunk(), len(self.queue)))]
        self.comm.send(chunk, dest=w, tag=TAG_WORK)
        self.held[w] += 1

    def fill(self):
        """Give every worker chunks up to AHEAD, round by round."""
        for _ in range(AHEAD):
            for w in self.held:
                if self.queue and self.held[w] < AHEAD:
                    self._give(w)

    def reported(self, w, results):
        """Worker w sent the results of a chunk: give it the next one, if any."""
        self.held[w] -= 1
        self.done += len(results)
        mean = sum(r[3] for r in results) / max(len(results), 1)
        self.task_time = mean if self.task_time is None else 0.7 * self.task_time + 0.3 * mean
        if self.queue:
            self._give(w)

    def stop_idle(self):
        """Tell every worker that holds no chunk to stop."""
        for w, n in self.held.items():
            if n == 0:
                self.comm.send(None, dest=w, tag=TAG_WORK)
                self.held[w] = -1               # stopped

    def busy(self):
        return any(n > 0 for n in self.held.values())


class _Store:
    """Rank 0's storing, the same with and without task servers: ``put`` stores results
    (index, record, error, wall, rank) until a write fails (``stopped``: the WriteFailed;
    then no more work is handed out and the busy ranks finish), ``idle`` writes a batch
    grown old while the workers compute, ``finish`` ends the run on every rank."""

    def __init__(self, comm, store, flush_due):
        self.comm, self._store, self._flush_due = comm, store, flush_due
        self.stopped = None

    def idle(self):
        if self.stopped is None:
            try:
                self._flush_due()
            except WriteFailed as e:
                self.stopped = e

    def put(self, results):
        for r in results:
            if self.stopped is None:
                try:
                    self._store(*r)
                except WriteFailed as e:
                    self.stopped = e

    def finish(self):
        self.comm.Barrier()   # every worker has been told to stop and has
        self.comm.bcast(self.stopped is not None, root=0)
        if self.stopped is not None:
            raise self.stopped


def _master(pending, comm, store, flush_due):
    """Hand out the ``pending`` task indices in chunks (_Dispatch), store each result as
    it arrives, and tell each worker to stop once it holds no chunk and none is left."""
    from mpi4py import MPI
    w = _Store(comm, store, flush_due)
    d = _Dispatch(comm, range(1, comm.Get_size()), pending)
    d.fill()
    d.stop_idle()
    status = MPI.Status()
    while d.busy():
        src = _wait(comm, status, TAG_RESULT, w.idle)
        results = comm.recv(source=src, tag=TAG_RESULT)
        if w.stopped is not None:
            d.queue.clear()
        d.reported(src, results)
        if not d.queue:
            d.stop_idle()
        w.put((*r, src) for r in results)
    w.finish()


FLAT_MAX = 64          # workers that rank 0 serves itself when ``servers`` is automatic
SERVER_BATCH = 256     # results per message from a task server to rank 0, at most
SERVER_SECONDS = 0.25  # a server sends what it holds at least this often


def serving_ranks(size: int, servers: int | None = None) -> int:
    """Task servers for an MPI run on ``size`` ranks: ``servers`` when given (0: none,
    rank 0 serves every worker), else none up to FLAT_MAX workers and one per FLAT_MAX + 1
    ranks beyond (about 65 workers each).  Raises InputError for a count that is not an
    integer >= 0 or that leaves a server without a worker (servers > (size - 1) / 2)."""
    workers = size - 1
    if servers is None:
        return 0 if workers <= FLAT_MAX else -(-workers // (FLAT_MAX + 1))
    if isinstance(servers, bool) or not isinstance(servers, (int, np.integer)) or servers < 0:
        raise InputError(f"servers must be an integer >= 0, got {servers!r}")
    if servers and workers - servers < servers:
        raise InputError(f"servers = {servers} needs at least {2 * servers + 1} ranks (each server "
                         f"serves at least one worker), got {size}")
    return int(servers)


def _server_of(rank, n_servers):
    """The rank that hands tasks to worker ``rank`` (0 without servers)."""
    return 0 if n_servers == 0 else 1 + (rank - n_servers - 1) % n_servers


def _served_by(size, n_servers, server):
    return [r for r in range(n_servers + 1, size) if _server_of(r, n_servers) == server]


def _wait(comm, status, tag, idle):
    """Poll for a message with ``tag`` from any rank, calling ``idle()`` between polls
    and sleeping 2 ms (MPICH busy-waits in a blocking receive, which would take a core
    from the workers)."""
    from mpi4py import MPI
    while not comm.Iprobe(source=MPI.ANY_SOURCE, tag=tag, status=status):
        idle()
        time.sleep(0.002)
    return status.Get_source()


def _top(pending, comm, store, flush_due, n_servers):
    """Rank 0 over task servers: each server gets a first chunk of indices (or None: no
    work), then a reply to each of its messages (results, how many tasks it wants, how
    many it dropped): (chunk, "more") while tasks are left here, ([], "dry") once none
    is, ([], "stop") after a failed write (the server drops its queue and says how many),
    or None once nothing is left and nothing is outstanding there (it stops)."""
    from collections import deque

    from mpi4py import MPI
    w = _Store(comm, store, flush_due)
    queue = deque(pending)
    size = comm.Get_size()
    outstanding = {}        # tasks handed to each server, neither reported nor dropped
    for s in range(1, n_servers + 1):
        k = min(len(queue), (AHEAD + 1) * len(_served_by(size, n_servers, s)))
        chunk = [queue.popleft() for _ in range(k)]
        comm.send(chunk if chunk else None, dest=s, tag=TAG_WORK)
        if chunk:
            outstanding[s] = k
    status = MPI.Status()
    while outstanding:
        s = _wait(comm, status, TAG_RESULT, w.idle)
        batch, want, dropped = comm.recv(source=s, tag=TAG_RESULT)
        outstanding[s] -= len(batch) + dropped
        if w.stopped is not None:
            queue.clear()
        if queue and want > 0:
            chunk = [queue.popleft() for _ in range(min(want, len(queue)))]
            outstanding[s] += len(chunk)
            comm.send((chunk, "more"), dest=s, tag=TAG_WORK)
        elif outstanding[s] == 0:
            comm.send(None, dest=s, tag=TAG_WORK)
            del outstanding[s]
        else:
            comm.send(([], "more" if queue else "dry" if w.stopped is None else "stop"), dest=s, tag=TAG_WORK)
        w.put(batch)
    w.finish()


def _serve(comm, workers):
    """A task server: hands the indices that rank 0 sends to ``workers`` in chunks
    (_Dispatch, as _master), collects their results and sends them to rank 0 in batches
    (full, SERVER_SECONDS old, or while a worker is idle), asking for as many tasks as
    keeps a reserve of one per worker plus what they finish in SERVER_SECONDS; drops its
    queue when rank 0 says "stop"; stops its workers when rank 0 sends None (_top)."""
    from mpi4py import MPI
    status = MPI.Status()
    first = comm.recv(source=0, tag=MPI.ANY_TAG, status=status)
    if status.Get_tag() == TAG_ABORT:
        return
    d = _Dispatch(comm, workers, first or [])
    out, since, t0, dropped = [], None, time.monotonic(), 0
    asked, dry, done = False, first is None, first is None
    d.fill()
    while not done:
        if not asked:
            rate = d.done / max(time.monotonic() - t0, 1e-3)
            reserve = len(workers) + min(int(rate * SERVER_SECONDS), SERVER_BATCH)
            want = 0 if dry else max(reserve - len(d.queue), 0)
            idle = not d.queue and min(d.held.values()) == 0
            if (len(out) >= SERVER_BATCH or dropped or (out and (idle or time.monotonic() - since >= SERVER_SECONDS))
                    or (not dry and want >= max(len(workers), reserve // 2))):
                comm.send((out, want, dropped), dest=0, tag=TAG_RESULT)
                out, since, asked, dropped = [], None, True, 0
        if not comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            time.sleep(0.002)
            continue
        src, tag = status.Get_source(), status.Get_tag()
        msg = comm.recv(source=src, tag=tag)
        if src == 0:
            if tag == TAG_ABORT:
                return
            asked = False
            if msg is None:
                done = True
                continue
            chunk, state = msg
            d.queue.extend(chunk)
            dry = state != "more"
            if state == "stop":       # rank 0 could not store: run nothing more
                dropped += len(d.queue)
                d.queue.clear()
            d.fill()
        else:
            d.reported(src, msg)
            out += [(*r, src) for r in msg]
            since = since or time.monotonic()
    d.stop_idle()      # rank 0 sends None only when nothing is outstanding here


def leave_after_signal(code: int, wait_s: float = 20.0, worker_wait_s: float = 5.0):
    """End this MPI rank at once after SIGTERM, SIGHUP or Ctrl-C (the launcher signals
    every rank), with exit ``code``, rank 0 last: an MPI launcher kills the ranks still
    alive when one leaves and prints its "BAD TERMINATION" banner.  Rank 0 (which has
    already said that the run stops) tells the other ranks to stop (a worker waiting for
    work would not see the signal), then waits up to ``wait_s`` for each one's goodbye;
    another rank says goodbye and leaves once rank 0's stop has come (at most
    ``worker_wait_s``), so that no rank leaves before rank 0 has handled the signal and
    said so (on two busy cores with many ranks a worker could otherwise leave, and the
    launcher kill rank 0, before rank 0 ran at all).  While they wait, all ranks read and
    drop results still on their way (a rank blocked in sending a large batch could not
    say goodbye).  MPICH's launcher, signalled itself, may still kill a rank that is
    leaving (exit status 9 instead of ``code``, and its banner on stdout; docs/jobs.md).
    MPI is not finalised: ranks that are gone cannot take part.  Only for the command
    line."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
        comm = MPI.COMM_WORLD
        status = MPI.Status()

        def wait_for(tag, source, deadline):
            while time.monotonic() < deadline:
                if comm.Iprobe(source=source, tag=tag, status=status):
                    comm.recv(source=status.Get_source(), tag=tag)
                    return status.Get_source()
                if comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_RESULT, status=status):
                    comm.recv(source=status.Get_source(), tag=TAG_RESULT)     # dropped
                else:
                    time.sleep(0.01)
            return None
        if comm.Get_rank() == 0:
            waiting = set(range(1, comm.Get_size()))
            for r in waiting:
                comm.isend(None, dest=r, tag=TAG_ABORT)
            deadline = time.monotonic() + wait_s
            while waiting:
                r = wait_for(TAG_BYE, MPI.ANY_SOURCE, deadline)
                if r is None:
                    break
                waiting.discard(r)
            time.sleep(0.2)   # the launcher forwards rank 0's last line
        else:
            comm.send(None, dest=0, tag=TAG_BYE)
            wait_for(TAG_ABORT, 0, time.monotonic() + worker_wait_s)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class RunStopped(Exception):
    """Raised on the worker ranks when rank 0 stopped the run (it raises the reason:
    InputError or WriteFailed); the command line ends them quietly (simglass.cli)."""


def outlive_workers(grace_s=1.0):
    """Before rank 0 leaves with a nonzero exit code under MPI (bad input, a WriteFailed,
    once every rank has stopped): an MPI launcher kills every rank still alive when one
    exits with an error, and says so at length ("BAD TERMINATION").  Finalize MPI (with
    the workers) and give their processes ``grace_s`` to exit first.  For the command
    line only: MPI cannot be used afterwards."""
    MPI = sys.modules.get("mpi4py.MPI")   # never initialise MPI here: only if the run did
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
        MPI.Finalize()
        time.sleep(grace_s)


def _worker(job, comm, server=0):
    """Compute the chunks of tasks that ``server`` (rank 0 or a task server) hands out,
    sending the results of each chunk in one message, until it sends None or rank 0
    sends TAG_ABORT."""
    from mpi4py import MPI
    status = MPI.Status()
    while True:
        chunk = comm.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
        if status.Get_tag() == TAG_ABORT or chunk is None:
            return
        results = [(index, *_execute(job, job.task(index))) for index in chunk]
        comm.send(results, dest=server, tag=TAG_RESULT)
