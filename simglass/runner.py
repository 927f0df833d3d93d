"""Runs the tasks of a job serially or over MPI ranks, writing one HDF5 file.

Under ``mpiexec -n K`` rank 0 is the master: it hands out task indices as workers
report (dynamic load balancing; each worker holds up to AHEAD tasks, so that the next
one is waiting when it finishes), keeps every result as it arrives, writes them in batches
(simglass.column_layout: when a batch is full or old, also while it waits) and shows
progress; ranks 1..K-1 compute.  The master sleeps while it waits, so K = cores + 1 is the natural
choice.  The runner knows nothing about physics: a task is run by
:func:`simglass.tasks.run_task`.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field

from .jobfile import Job
from .options import InputError
from .results import ResultsFile, WriteFailed
from .tasks import run_task

__all__ = ["run_job", "RunSummary", "RunStopped", "mpi_world", "outlive_workers"]

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


def share_cores(comm) -> int | None:
    """Limit this rank's numba and BLAS thread pools to its share of the node's cores:
    the cores this process may use, divided among the node's working ranks (rank 0 only
    hands out tasks and sleeps).  Left alone (None) when the user set any of
    THREAD_VARS.  Returns the thread count."""
    if any(v in os.environ for v in THREAD_VARS):
        return None
    from mpi4py import MPI
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    workers = sum(r != 0 for r in node.allgather(comm.Get_rank()))
    node.Free()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    n = max(1, cores // max(workers, 1))
    import numba
    from threadpoolctl import threadpool_limits
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(n)
    return n


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
            comm=None, layout: str = "columns") -> RunSummary:
    """Run (or resume) every task of ``job``; see the module docstring for MPI.
    ``layout``: of a new results file (simglass.results.ResultsFile).

    Raises InputError for a job or an output that cannot run (before anything is written);
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
    tasks = job.tasks()
    rank = comm.Get_rank() if comm is not None else 0
    t0 = time.perf_counter()
    if rank != 0:
        _worker(job, tasks, comm)
        comm.Barrier()   # every rank ends together: see _master
        if comm.bcast(None, root=0):   # rank 0 stopped the run (bad output, failed write)
            raise RunStopped("stopped by rank 0")
        return RunSummary(total=len(tasks))
    try:
        results = ResultsFile(output, job, overwrite=overwrite, layout=layout)
    except (InputError, WriteFailed) as e:
        if comm is not None:
            for r in range(1, comm.Get_size()):
                comm.send(None, dest=r, tag=TAG_ABORT)
            comm.Barrier()
            comm.bcast(True, root=0)
        raise e
    summary = RunSummary(total=len(tasks))
    bar = None
    try:
        done = results.done_mask()
        pending = [t for t in tasks if not done[t.index]]
        summary.skipped = len(tasks) - len(pending)
        bar = _Progress(len(tasks), summary.skipped, progress)

        def store(task, record, error, wall, src):
            results.write(task, record, wall, error, rank=src)
            if error is None:
                summary.done += 1
            else:
                summary.failed.append(task.name)
            bar.update(error is not None)

        if comm is None:
            for task in pending:
                store(task, *_execute(job, task), 0)
        else:
            _master(tasks, pending, comm, store, results.flush_due)
    finally:
        if bar is not None:
            bar.close()
        results.close()
    summary.wall_time = time.perf_counter() - t0
    return summary


AHEAD = 2   # tasks handed to a worker before it reports: the next one waits in its inbox


def _master(tasks, pending, comm, store, flush_due):
    """Hand out the pending tasks one index at a time, AHEAD per worker at most (a worker
    finds its next task waiting instead of asking and waiting for rank 0), store each
    result as it arrives, and tell each worker to stop once it holds no task."""
    from collections import deque

    from mpi4py import MPI
    queue = deque(t.index for t in pending)
    held = {r: 0 for r in range(1, comm.Get_size())}   # tasks handed to each worker, not yet reported
    status = MPI.Status()
    for _ in range(AHEAD):   # first rounds of work, one task per worker at a time
        for r in held:
            if queue:
                comm.send(queue.popleft(), dest=r, tag=TAG_WORK)
                held[r] += 1
    for r, n in held.items():
        if n == 0:
            comm.send(None, dest=r, tag=TAG_WORK)
    stopped = None   # a WriteFailed: hand out no more work, let the busy ranks finish, re-raise
    while any(held.values()):
        # poll and sleep instead of a blocking receive: MPICH busy-waits in recv,
        # which would steal a core from the workers
        while not comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_RESULT, status=status):
            if stopped is None:
                try:
                    flush_due()   # a batch grown old while the workers compute
                except WriteFailed as e:
                    stopped = e
            time.sleep(0.002)
        src = status.Get_source()
        index, record, error, wall = comm.recv(source=src, tag=TAG_RESULT)
        held[src] -= 1
        if queue and stopped is None:
            comm.send(queue.popleft(), dest=src, tag=TAG_WORK)
            held[src] += 1
        elif held[src] == 0:
            comm.send(None, dest=src, tag=TAG_WORK)
        if stopped is None:
            try:
                store(tasks[index], record, error, wall, src)
            except WriteFailed as e:
                stopped = e
    comm.Barrier()   # every worker has been told to stop and has
    comm.bcast(stopped is not None, root=0)
    if stopped is not None:
        raise stopped


def leave_after_signal(code: int, wait_s: float = 20.0):
    """End this MPI rank at once after SIGTERM, SIGHUP or Ctrl-C (the launcher signals
    every rank), with exit ``code``, rank 0 last: an MPI launcher kills the ranks still
    alive when one leaves and prints its "BAD TERMINATION" banner.  Rank 0 tells the
    workers to stop (a worker waiting for work would not see the signal), then waits up
    to ``wait_s`` for each worker's goodbye; a worker says goodbye and leaves.  MPICH's
    launcher, signalled itself, may still kill a rank that is leaving (exit status 9
    instead of ``code``, and its banner on stdout; docs/jobs.md).  MPI is not
    finalised: ranks that are gone cannot take part.  Only for the command line."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
        comm = MPI.COMM_WORLD
        if comm.Get_rank() == 0:
            waiting = set(range(1, comm.Get_size()))
            for r in waiting:
                comm.isend(None, dest=r, tag=TAG_ABORT)
            status, deadline = MPI.Status(), time.monotonic() + wait_s
            while waiting and time.monotonic() < deadline:
                if comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_BYE, status=status):
                    comm.recv(source=status.Get_source(), tag=TAG_BYE)
                    waiting.discard(status.Get_source())
                else:
                    time.sleep(0.01)
            time.sleep(0.2)   # the launcher forwards rank 0's last line
        else:
            comm.send(None, dest=0, tag=TAG_BYE)
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


def _worker(job, tasks, comm):
    from mpi4py import MPI
    status = MPI.Status()
    while True:
        index = comm.recv(source=0, tag=MPI.ANY_TAG, status=status)
        if status.Get_tag() == TAG_ABORT or index is None:
            return
        record, error, wall = _execute(job, tasks[index])
        comm.send((index, record, error, wall), dest=0, tag=TAG_RESULT)
