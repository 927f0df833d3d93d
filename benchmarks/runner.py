"""The runner and the results file at scale (issue 36): serial throughput, bytes per
task, resume of a finished job and ``analysis.load.task_table``, for the columnar
layout (simglass-results-2) against the group layout of earlier versions
(simglass-results-1), in one run.

Two kinds of task: ``disorder`` on L = [4] as a user would run it (the engine's own
time included), and ``null``: the same job with ``simglass.tasks.run_task`` replaced by
one that returns a fixed disorder record, so that only the runner and the file are
timed.  Public API only (run_job with ``layout``), serially.

    .venv/bin/python benchmarks/runner.py [--tasks 10000 100000] [--old-max 100000]
        [--engine-max 10000] [--dir /tmp]

Under mpiexec (``--mpi``): rank 0's sustained rate with the workers' tasks sleeping
``--sleep`` seconds (0: the null task), both layouts, and with the columnar layout for
each ``--servers`` count (task servers, simglass.runner); ranks may outnumber the cores,
as the tasks only sleep.  Columns of the printed rows: layout, ranks, servers, task,
tasks, tasks/s measured, workers / task time, rank 0 CPU per task [µs], rank 0 ceiling.

    .venv/bin/mpiexec -n K .venv/bin/python benchmarks/runner.py --mpi --tasks 20000 [--sleep 0.01]
        [--servers 0 2] [--no-groups]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from simglass import runner, tasks
from simglass.jobfile import parse_job

JOB = 'engine = "disorder"\nseed = 1\nrealizations = {n}\n[model]\nL = [4]\nJ = 1.0\n[options]\nn_configs = 1\n'


def _null_task():
    record = tasks.run_task(parse_job(JOB.format(n=1)), parse_job(JOB.format(n=1)).tasks()[0])
    return lambda job, task: dict(record)


def _sleeping_task(seconds):
    null = _null_task()

    def run(job, task):
        time.sleep(seconds)
        return null(job, task)
    return run


def mpi_rates(a):
    """Under mpiexec: run a job of ``a.tasks[0]`` sleeping tasks with each layout; rank 0
    prints one table row per layout and server count."""
    comm = runner.mpi_world()
    if comm is None:
        raise SystemExit("--mpi: run under mpiexec with at least 2 ranks")
    n = a.tasks[0]
    job = parse_job(JOB.format(n=n))
    runner.run_task = _sleeping_task(a.sleep) if a.sleep > 0 else _null_task()
    d = Path(a.dir or tempfile.gettempdir())
    runs = ([("groups", 0)] if a.groups else []) + [("columns", s) for s in a.servers]
    for layout, servers in runs:
        out = d / f"mpi_{layout}_{comm.Get_size()}_{servers}.h5"
        if comm.Get_rank() == 0 and out.exists():
            out.unlink()
        comm.Barrier()
        t0, c0 = time.perf_counter(), time.process_time()
        runner.run_job(job, output=str(out), progress=False, comm=comm, layout=layout, servers=servers)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        if comm.Get_rank() == 0:
            workers = comm.Get_size() - 1 - servers
            ideal = f"{workers / a.sleep:,.0f}" if a.sleep > 0 else "–"
            # rank 0's own CPU time per task bounds what it can serve with a core to itself
            print(f"| {'group (1)' if layout == 'groups' else 'columnar (2)'} | {comm.Get_size()} | {servers} | "
                  f"{a.sleep * 1e3:g} ms | {n:,} | {n / dt:,.0f} | {ideal} | {cpu / n * 1e6:,.0f} | "
                  f"{n / cpu:,.0f} |", flush=True)
            out.unlink()


def measure(n, layout, kind, d: Path) -> dict:
    """One row: run, bytes per task, resume and task_table times."""
    from simglass.analysis.load import task_table
    job = parse_job(JOB.format(n=n))
    out = d / f"{layout}_{kind}_{n}.h5"
    for p in (out, out.with_name(out.name + ".lock")):
        if p.exists():
            p.unlink()
    real = runner.run_task
    if kind == "null":
        runner.run_task = _null_task()
    try:
        t0 = time.perf_counter()
        s = runner.run_job(job, output=str(out), progress=False, layout=layout)
        run = time.perf_counter() - t0
        assert s.done == n
        t0 = time.perf_counter()
        s = runner.run_job(job, output=str(out), progress=False, layout=layout)
        resume = time.perf_counter() - t0
        assert s.skipped == n and s.done == 0
    finally:
        runner.run_task = real
    t0 = time.perf_counter()
    assert len(task_table(out)) == n
    table = time.perf_counter() - t0
    size = out.stat().st_size
    out.unlink()
    return dict(layout=layout, kind=kind, n=n, run=run, rate=n / run, bytes=size / n, resume=resume, table=table)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--old-max", type=int, default=100_000, help="largest job run with the group layout")
    ap.add_argument("--engine-max", type=int, default=10_000, help="largest job run with the real engine")
    ap.add_argument("--dir", default=None, help="where the files are written (default: a temporary directory)")
    ap.add_argument("--mpi", action="store_true", help="rank 0's rate under mpiexec (module docstring)")
    ap.add_argument("--sleep", type=float, default=0.0, help="--mpi: seconds each task sleeps")
    ap.add_argument("--servers", type=int, nargs="+", default=[0],
                    help="--mpi: task servers of the columnar runs (simglass.runner.serving_ranks)")
    ap.add_argument("--no-groups", dest="groups", action="store_false",
                    help="--mpi: no run with the group layout")
    a = ap.parse_args(argv)
    if a.mpi:
        if os.environ.get("PMI_RANK", "0") == "0":
            print("| layout | ranks | servers | task | tasks | tasks/s | workers / task time | rank 0 CPU per task [µs] | "
                  "rank 0 ceiling [tasks/s] |\n|---|---|---|---|---|---|---|---|---|", flush=True)
        return mpi_rates(a)
    d = Path(a.dir or tempfile.mkdtemp(prefix="simglass_bench_"))
    d.mkdir(parents=True, exist_ok=True)
    runner.run_job(parse_job(JOB.format(n=2)), output=str(d / "warm.h5"), progress=False)   # imports, caches
    print(f"disorder, L = [4], n_configs = 1, serial; files in {d}; {os.cpu_count()} cores")
    print("| layout | tasks | task | run [s] | tasks/s | bytes/task | resume (all done) [s] | task_table [s] |")
    print("|---|---|---|---|---|---|---|---|")
    for n in a.tasks:
        for kind in ("disorder", "null"):
            if kind == "disorder" and n > a.engine_max:
                continue
            for layout in ("groups", "columns"):
                if layout == "groups" and n > a.old_max:
                    continue
                r = measure(n, layout, kind, d)
                print(f"| {'group (1)' if layout == 'groups' else 'columnar (2)'} | {n:,} | {kind} | {r['run']:.1f} | "
                      f"{r['rate']:,.0f} | {r['bytes']:,.0f} | {r['resume']:.2f} | {r['table']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
