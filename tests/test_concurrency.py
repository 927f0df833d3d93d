"""Concurrency and faults by kind (issue 17): one writer per results file whatever HDF5's
locking does, any exception on any MPI rank ends all ranks, and each MPI rank gets its
share of the cores.  The mpiexec runs are under a timeout."""

import os
import subprocess
import sys
import time


from conftest import BIN, SLOW_JOB, count_done as _count_done, run_cli, simglass_cmd

SLOW_TASKS = 200
SMALL = """
engine = "disorder"
seed = 3
realizations = 2
[model]
L = [3, 3, 3]
[scan]
J = [0.5, 1.0]
"""


def _start_slow_writer(tmp_path, monkeypatch):
    """(job file, output, the running `simglass run` of SLOW_JOB) without HDF5 file locking."""
    monkeypatch.setenv("HDF5_USE_FILE_LOCKING", "FALSE")
    job = tmp_path / "slow.toml"
    # 200 tasks (about 11 s on an idle core): the first batch is committed after about 1 s
    # (simglass.column_layout), and the job must still run while the test acts on it
    job.write_text(SLOW_JOB.replace("realizations = 24", f"realizations = {SLOW_TASKS}"))
    out = tmp_path / "slow.h5"
    return job, out, subprocess.Popen(simglass_cmd("run", job, "--output", out, "--quiet"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_one_writer_per_file_without_hdf5_locking(tmp_path, monkeypatch):
    job, out, first = _start_slow_writer(tmp_path, monkeypatch)
    t0 = time.time()
    while _count_done(out) < 1 and time.time() - t0 < 120:
        time.sleep(0.05)
    try:
        for extra in ([], ["--overwrite"]):
            r = run_cli("run", job, "--output", out, "--quiet", *extra, timeout=120)
            assert r.returncode == 2, r.stderr
            assert "being written by simglass pid" in r.stderr and "Traceback" not in r.stderr
        info = run_cli("info", out, timeout=120)   # reading while the job runs
        assert info.returncode == 0, info.stderr
    finally:
        so, se = first.communicate(timeout=600)
    assert first.returncode == 0, se
    assert _count_done(out) == SLOW_TASKS          # the file survived, complete
    r = run_cli("run", job, "--output", out, "--quiet", timeout=120)  # the lock is released
    assert r.returncode == 0 and f"{SLOW_TASKS} already done" in r.stdout, r.stderr


def _mpiexec(n, args, timeout=120, env=None):
    return subprocess.run([str(BIN / "mpiexec"), "-n", str(n), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_mpi_bad_output_ends_all_ranks(tmp_path):
    job = tmp_path / "small.toml"
    job.write_text(SMALL)
    r = _mpiexec(2, simglass_cmd("run", job, "--output", "/proc/no-such-dir/x.h5", "--quiet"))
    assert r.returncode != 0
    assert "/proc/no-such-dir/x.h5" in r.stderr and "cannot be created" in r.stderr
    assert "Traceback" not in r.stderr


def test_mpi_exception_on_a_worker_ends_all_ranks(tmp_path):
    """A worker that fails outside a task (here: its loop raises) must not leave rank 0
    waiting for its result forever."""
    job = tmp_path / "small.toml"
    job.write_text(SMALL)
    script = tmp_path / "boom.py"
    script.write_text(
        "import sys\n"
        "from mpi4py import MPI\n"
        "import simglass.runner as R\n"
        "from simglass.cli import main\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('worker lost its mind')\n"
        "if MPI.COMM_WORLD.Get_rank() == 1:\n"
        "    R._worker = boom\n"
        f"sys.exit(main(['run', {str(job)!r}, '--output', {str(tmp_path / 'w.h5')!r}, '--quiet']))\n")
    r = _mpiexec(2, [sys.executable, str(script)])
    assert r.returncode != 0
    assert "error on MPI rank 1 of 2: RuntimeError: worker lost its mind; ending all ranks" in r.stderr


def test_each_rank_gets_its_share_of_the_cores(tmp_path):
    script = tmp_path / "threads.py"
    script.write_text(
        "import numba, threadpoolctl\n"
        "from simglass.runner import mpi_world\n"
        "c = mpi_world()\n"
        "blas = max((p['num_threads'] for p in threadpoolctl.threadpool_info()), default=0)\n"
        "import sys, pathlib\n"
        "pathlib.Path(sys.argv[1], str(c.Get_rank())).write_text(f'{c.Get_rank()} {numba.get_num_threads()} {blas}')\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    cores = len(os.sched_getaffinity(0))
    def rows(env):
        d = tmp_path / str(len(list(tmp_path.iterdir())))
        d.mkdir()
        r = _mpiexec(3, [sys.executable, str(script), str(d)], env=env)
        assert r.returncode == 0, r.stderr
        return sorted(tuple(map(int, (d / str(k)).read_text().split())) for k in range(3))
    rows0 = rows(env)
    share = max(1, cores // 2)   # two working ranks; rank 0 only hands out tasks
    assert [row[0] for row in rows0] == [0, 1, 2]
    for _, numba_threads, blas in rows0:
        assert numba_threads == share and blas <= share
    # a thread variable set by the user is left alone
    assert all(row[1] == cores for row in rows(dict(env, NUMBA_NUM_THREADS=str(cores))))


def test_killed_several_times_at_random_moments_resumes_to_identical_data(tmp_path):
    """kill -9 at three random moments of one run (a fixed seed picks them), resuming in
    between: the final file equals an uninterrupted run's, task by task."""
    import random
    import signal

    from conftest import assert_same_results
    job = tmp_path / "slow.toml"
    # 200 tasks: a kill lands after the first committed batch (about 1 s of tasks,
    # simglass.column_layout), so three kills must not reach the end of the job
    job.write_text(SLOW_JOB.replace("realizations = 24", f"realizations = {SLOW_TASKS}"))
    out = tmp_path / "killed.h5"
    rnd = random.Random(17)
    for _ in range(3):
        before = _count_done(out)
        p = subprocess.Popen(simglass_cmd("run", job, "--output", out, "--quiet"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while _count_done(out) <= before and time.time() - t0 < 120:   # past the start-up
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.4))
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert run_cli("info", out).returncode == 0     # readable after every kill
    assert _count_done(out) < SLOW_TASKS
    r = run_cli("run", job, "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    ref = tmp_path / "ref.h5"
    assert run_cli("run", job, "--output", ref, "--quiet").returncode == 0
    assert_same_results(out, ref)


def test_reading_while_the_job_writes_never_fails(tmp_path, monkeypatch):
    """Readers (simglass info, the analyses) open the file without a lock while the writer
    flushes task after task; an open that lands between the writer extending the file and
    writing its superblock fails in HDF5 ("truncated file") and is retried while the writer
    holds its lock (simglass.results.read_results).  Many reads during a run all succeed."""
    from simglass.analysis.load import load_points
    from simglass.results import being_written
    _, out, writer = _start_slow_writer(tmp_path, monkeypatch)
    t0 = time.time()
    while not out.exists() and time.time() - t0 < 60:
        time.sleep(0.01)
    reads, seen_writer = 0, False
    try:
        while writer.poll() is None and time.time() - t0 < 300:
            seen_writer |= being_written(out)
            _, points = load_points(out)           # raises InputError if the open fails
            assert sum(len(p.records) for p in points) <= SLOW_TASKS
            reads += 1
    finally:
        writer.communicate(timeout=600)
    assert writer.returncode == 0 and seen_writer and reads > 5
    assert not being_written(out)
