"""Command line: ``simglass run | info | analyze | validate | engines`` (docs/jobs.md).

Exit codes: 0 success, 2 bad input (one line on stderr, no traceback), 1 failed run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from collections import Counter, defaultdict

from . import __version__
from .options import InputError
from .results import WriteFailed


def _run(args) -> int:
    from .jobfile import load_job
    from .runner import mpi_world, run_job
    _stop_on_batch_signals()
    comm = mpi_world()
    rank = comm.Get_rank() if comm is not None else 0
    job = load_job(args.job)
    summary = run_job(job, output=args.output, overwrite=args.overwrite,
                      progress=not args.quiet, comm=comm, servers=args.servers)
    if rank != 0:
        return 0
    out = args.output or job.output
    print(f"{out}: {summary.done} tasks done, {summary.skipped} already done, "
          f"{len(summary.failed)} failed, of {summary.total} ({summary.wall_time:.1f} s)")
    if summary.failed:
        print("failed tasks (tracebacks stored in the file; rerun to retry): "
              + ", ".join(summary.failed), file=sys.stderr)
        return 1
    return 0


def _info(args) -> int:
    from .engines import get_engine, unsound
    import numpy as np

    from .couplings_file import FILE_KEYS
    from .results import read_consistent, stored_tasks

    def gather(f, job):
        a = {k: f.attrs[k] for k in ("engine", "simglass_version", "git_commit", "created", "options",
                                     "engine_package", *FILE_KEYS) if k in f.attrs}
        flags = getattr(get_engine(a["engine"]), "FLAGS", {})
        tasks = stored_tasks(f, job, args.results)    # tasks being written are pending
        n_points = len(job.points())
        point = np.arange(tasks.n_tasks) % n_points
        rows = defaultdict(lambda: [0, 0, 0.0, Counter(), 0.0])
        for p, d, fl, w, wd in zip(range(n_points),
                                   np.bincount(point, tasks.status == 1, n_points),
                                   np.bincount(point, tasks.status == 2, n_points),
                                   np.bincount(point, tasks.wall_time, n_points),
                                   np.bincount(point, tasks.wall_time * (tasks.status == 1), n_points)):
            if d or fl:
                rows[p][:3] = [int(d), int(fl), float(w)]
                rows[p][4] = float(wd)          # of the done tasks only: the mean per done task
        if flags:
            cols = tasks.columns()
            for i in np.flatnonzero(tasks.status == 1):
                bad = unsound(flags, lambda k: cols[k][0][i] if k in cols and cols[k][1][i] else None)
                rows[int(point[i])][3].update(bad + (["any"] if bad else []))
        return job, a, flags, rows
    # a read that meets the file half written by a running job is retried (read_consistent)
    job, a, flags, rows = read_consistent(args.results, gather)
    print(f"{args.results}: engine {a['engine']}, simglass {a['simglass_version']}, "
          f"commit {a['git_commit'][:12]}, created {a['created']}")
    if "engine_package" in a:   # an engine from another package (simglass.plugins.package_of)
        p = json.loads(a["engine_package"])
        print(f"engine package: {p['name']} {p['version']} (module {p['module']})")
    if "options" in a:
        print(f"options used: {a['options']}")
    for key in FILE_KEYS:     # couplings_file, onsite_file: the files the job read
        if key in a:
            c = json.loads(a[key])
            modes = f", {c['n_modes']} mode functions g" if "n_modes" in c else ""
            print(f"{key.replace('_', ' ')}: {c['path']} ({c['size']} bytes, SHA-256 {c['sha256']}{modes})")
    points = job.points()
    keys = list(job.scan)
    head = ["point"] + keys + ["done", "failed", "pending", "wall [s]", "per task [s]", "to go [s]"]
    if flags:  # flagged: done tasks whose flag datasets differ from a sound result
        head.append("flagged")

    def _flagged(c):
        return f"{c['any']}" + (" (" + ", ".join(f"{k} {c[k]}" for k in flags if c[k]) + ")" if c["any"] else "")
    tot = [sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values()),
           sum(r[2] for r in rows.values()), sum((r[3] for r in rows.values()), Counter()),
           sum(r[4] for r in rows.values())]
    mean_all = tot[4] / tot[0] if tot[0] else float("nan")
    table, to_go = [], 0.0
    for p, params in enumerate(points):
        d, fl, w, c, wd = rows[p]
        mean = wd / d if d else mean_all         # a point without done tasks: the mean of all
        left = (job.realizations - d) * mean     # pending and failed tasks (a rerun retries failed ones)
        to_go += left
        table.append([str(p)] + [json.dumps(params[k]) for k in keys]
                     + [str(d), str(fl), str(job.realizations - d - fl), f"{w:.1f}", _seconds(wd / d if d else None),
                        _seconds(left if left == left else None)]
                     + ([_flagged(c)] if flags else []))
    table.append(["all"] + [""] * len(keys) + [str(tot[0]), str(tot[1]),
                 str(len(points) * job.realizations - tot[0] - tot[1]), f"{tot[2]:.1f}",
                 _seconds(mean_all if tot[0] else None), _seconds(to_go if to_go == to_go else None)]
                 + ([_flagged(tot[3])] if flags else []))
    widths = [max(len(r[i]) for r in [head] + table) for i in range(len(head))]
    for r in [head] + table:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    if flags:
        print("flagged: done tasks with " + " or ".join(f"{k} != {v}" for k, v in flags.items()))
    return 0


def _seconds(x) -> str:
    """A task-time column of `simglass info`: seconds with one decimal, "-" for none."""
    return "-" if x is None else f"{x:.1f}"


def terminal_text(text: str) -> str:
    """Docstring text for the terminal: reStructuredText literals and roles
    (``x``, :func:`x`) as plain x."""
    return re.sub(r"``(.+?)``|(?::[\w:]+:)?`([^`]+)`", lambda m: m.group(1) or m.group(2), text)


def _engines(args) -> int:
    from .engines import ENGINES, describe, get_engine, names
    from .plugins import found
    unknown = [n for n in args.name or [] if n not in names()]
    if unknown:
        raise InputError(f"unknown engine {unknown[0]!r}; engines: {', '.join(sorted(names()))}")
    usable, broken = [], [p.error for n, p in found().items() if n in ENGINES and not args.name]
    for name in args.name or names():   # a plugin that cannot be used: one line, the others listed
        try:
            get_engine(name)
            usable.append(name)
        except InputError as e:
            if args.name:
                raise
            broken.append(str(e))
    for line in broken:
        print(f"simglass: warning: {line}", file=sys.stderr, flush=True)
    for e in describe(usable):
        print(f"{e['name']}  ({e['module']}, {e['origin']})\n  {terminal_text(e['summary'])}")
        rows = [[o["name"], o["type"], o["default"], o["allowed"], o["help"]] for o in e["options"]]
        widths = [max(len(r[i]) for r in rows) for i in range(4)] if rows else []
        for r in rows:
            print("    " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
        if e["flags"]:
            print("  flags: " + ", ".join(f"{k} (sound: {v})" for k, v in e["flags"].items()))
        if args.name:     # the stored record: dataset, shape, type, unit, when stored, meaning
            print("  record per task (columns of simglass.analysis.load.task_table marked *):")
            rows = [[("* " if o["column"] else "  ") + o["name"], o["shape"], o["kind"], o["unit"] or "-",
                     o["when"], o["meaning"]] for o in e["outputs"]]
            widths = [max(len(r[i]) for r in rows) for i in range(5)]
            for r in rows:
                print("    " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
        print()
    if not args.name:
        print("simglass engines NAME also lists what each task of NAME stores")
    return 0


def _analyze(args) -> int:
    from simglass.analysis.dispatch import analyze
    return analyze(args.results, args.out)


def _validate(args) -> int:
    from simglass.analysis.validate import validate
    _stop_on_batch_signals()
    from .runner import mpi_world
    return validate("full" if args.full else "quick", out=args.out, jobs_dir=args.jobs,
                    comm=mpi_world(), progress=not args.quiet, overwrite=args.overwrite)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simglass", description=terminal_text(__doc__.splitlines()[0]))
    p.add_argument("--version", action="version", version=f"simglass {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run or resume a job file (serially, or under mpiexec)",
                       description="Run or resume the tasks of a TOML job file. Under "
                       "'mpiexec -n K' rank 0 distributes tasks to K-1 workers.")
    r.add_argument("job", help="job file (TOML)")
    r.add_argument("--output", help="results file (default: the job's 'output')")
    r.add_argument("--overwrite", action="store_true",
                   help="replace an output file written by a different job")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--servers", type=_non_negative_int, default=None, metavar="S",
                   help="under mpiexec: ranks 1..S hand out tasks to the workers and send rank 0 "
                        "their results in batches (default: none up to 64 workers, then one per "
                        "65 ranks; 0: rank 0 serves every worker)")
    r.set_defaults(func=_run)
    i = sub.add_parser("info", help="summary table of a results file",
                       description="Tasks done / failed / pending per parameter point, their summed wall "
                       "time, the mean per done task and the task time to go (pending and failed "
                       "tasks times that mean; divide by the workers for the wall time).")
    i.add_argument("results", help="HDF5 results file")
    i.set_defaults(func=_info)
    a = sub.add_parser("analyze", help="disorder averages, fits and figures of a results file",
                       description="Run the engine's analyses (also on the partial file of a "
                       "running or interrupted job): tables on stdout, CSV and PNG in --out.")
    a.add_argument("results", help="HDF5 results file")
    a.add_argument("--out", help="directory for CSV tables and figures")
    a.set_defaults(func=_analyze)
    e = sub.add_parser("engines", help="list the engines, their [options] and (with NAME) what a task stores",
                       description="The engines (built in, and plugins of other packages) with every option of their [options] table: "
                       "type, default, allowed values and meaning; with NAME also the record each task "
                       "stores: dataset, shape, type, unit, when it is stored and meaning (the same tables "
                       "as the documentation's engines page).")
    e.add_argument("name", nargs="*", help="only these engines")
    e.set_defaults(func=_engines)
    v = sub.add_parser("validate", help="mean-field theory against simulation: run the jobs, write the report",
                       description="Run (or resume) the comparison jobs and write OUT/report.html, "
                       "OUT/report.md, OUT/summary.json, the figures and the HDF5 files. --quick: "
                       "minutes on 2 cores (jobs/validate_quick/); --full: the production jobs of "
                       "jobs/ (use mpiexec).")
    g = v.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="reduced sizes and statistics (default)")
    g.add_argument("--full", action="store_true", help="production jobs")
    v.add_argument("--out", default="validation", help="output directory (default: validation)")
    v.add_argument("--jobs", help="directory of job files named <role>.toml instead of a profile")
    v.add_argument("--overwrite", action="store_true",
                   help="replace results files in OUT written by different jobs")
    v.add_argument("--quiet", action="store_true", help="no progress display")
    v.set_defaults(func=_validate)
    return p



class Terminated(BaseException):
    """SIGTERM (a batch system's time limit or scancel) or SIGHUP: raised where the
    program is, like KeyboardInterrupt for Ctrl-C, so that the task in flight is dropped
    and the results file closed.  A BaseException: a task's ``except Exception`` does
    not catch it."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _stop_message(sig) -> str:
    how = "interrupted" if sig == signal.SIGINT else f"stopped by {signal.Signals(sig).name}"
    return f"simglass: {how}; completed tasks are saved, rerun the same command to resume"


def _raise_terminated(signum, frame):
    """Rank 0 says at once that the run stops: under mpiexec the workers leave on the same
    signal, and the launcher may kill rank 0 while it still writes its last batch."""
    if _is_rank0():
        print(_stop_message(signum), file=sys.stderr, flush=True)
    raise Terminated(signum)


def _stop_on_batch_signals():
    """SIGTERM and SIGHUP (a batch system's stop) end `run` and `validate` as Ctrl-C does (main)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_terminated)


def _done_with_batch_signals():
    """After a complete `run` or `validate` nothing is left to lose: a SIGTERM or SIGHUP
    that arrives during the exit (MPI_Finalize waits for every rank; a batch system's
    time limit can fall there) is ignored, so that the run ends as it finished, exit 0,
    instead of an exception in the interpreter's shutdown or a killed rank.  Only for
    the command line: a program that calls main() keeps its own signal handling."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is _raise_terminated:
            signal.signal(sig, signal.SIG_IGN)


def _non_negative_int(text):
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return n


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse prints its own one-line usage error
        return int(e.code) if e.code is not None else 0
    try:
        code = args.func(args)
        if argv is None:       # the command line (not main() called as a function)
            _done_with_batch_signals()
        return code
    except BrokenPipeError:   # output piped to a reader that stopped (| head): quietly, as C tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())   # the interpreter's final flush must not fail again
        return 128 + signal.SIGPIPE
    except InputError as e:
        if _is_rank0():
            print(f"simglass: error: {e}", file=sys.stderr, flush=True)
            _outlive_workers_if_mpi()
        return 2
    except (KeyboardInterrupt, Terminated) as e:   # Ctrl-C, or a batch system's SIGTERM
        sig = e.signum if isinstance(e, Terminated) else signal.SIGINT
        if _is_rank0() and not isinstance(e, Terminated):   # Terminated: said by _raise_terminated
            print(_stop_message(sig), file=sys.stderr, flush=True)
        if _under_mpi():   # MPI_Finalize would wait for ranks that are gone: leave at once
            from .runner import leave_after_signal
            leave_after_signal(128 + sig)
        return 128 + sig
    except WriteFailed as e:   # disk full, quota, I/O error: one line, exit 1
        print(f"simglass: error: {e}", file=sys.stderr, flush=True)
        _outlive_workers_if_mpi()
        if not e.consistent:   # HDF5 cannot release this file cleanly: leave at once
            sys.stdout.flush()
            os._exit(1)
        return 1
    except _run_stopped():   # a worker rank: rank 0 reports why and exits last
        return 0
    except Exception as e:
        _abort_other_ranks(e)
        raise


def _abort_other_ranks(e: Exception):
    """Under MPI an exception on one rank would leave the others waiting for messages
    forever: print one line naming the rank and end every rank (MPI_Abort, exit code 1).
    The results file stays readable: it is flushed after every task."""
    if not _under_mpi():
        return
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    if comm.Get_size() < 2:
        return
    import traceback
    traceback.print_exc(file=sys.stderr)
    print(f"simglass: error on MPI rank {comm.Get_rank()} of {comm.Get_size()}: {type(e).__name__}: {e}; "
          "ending all ranks (completed tasks are saved, rerun to resume)", file=sys.stderr, flush=True)
    import time
    time.sleep(0.5)   # let the launcher forward this rank's stderr before the abort kills it
    comm.Abort(1)


def _run_stopped():
    from .runner import RunStopped
    return RunStopped


def _outlive_workers_if_mpi():
    if _under_mpi():
        from .runner import outlive_workers
        outlive_workers()


def _under_mpi() -> bool:
    from .runner import _MPI_ENV
    return any(k in os.environ for k in _MPI_ENV)


def _is_rank0() -> bool:
    for k in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if k in os.environ:
            return os.environ[k] == "0"
    return True


if __name__ == "__main__":
    sys.exit(main())
