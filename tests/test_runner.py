"""Job files, runner, results, resume and MPI (docs/jobs.md)."""
import os
import signal
import shutil
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import (BIN, assert_same_results, count_done as _count_done, run_cli, simglass_cmd, slow_job, stored,
                      task_datasets)

SMALL = """
engine = "disorder"
seed = 3
realizations = 3
[model]
L = [3, 3, 3]
W = 0.5
[scan]
J = [0.5, 1.0]
density = [0.25, 0.5]
[options]
n_configs = 8
"""


def write(tmp_path, text, name="job.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    """The results file of `simglass run` of SMALL, for the tests that only read it."""
    d = tmp_path_factory.mktemp("small")
    r = run_cli("run", write(d, SMALL), "--output", d / "a.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    return d / "a.h5"


def test_serial_run_and_info(tmp_path):
    job = write(tmp_path, SMALL)
    r = run_cli("run", job, "--output", tmp_path / "a.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "12 tasks done" in r.stdout
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert f.attrs["engine"] == "disorder"
        assert f.attrs["n_tasks"] == 12
        assert f.attrs["format"] == "simglass-results-2"
        assert "engine = \"disorder\"" in f.attrs["job_toml"]
    d = task_datasets(tmp_path / "a.h5")["p0003_r00002"]
    assert d["@status"] == "done"
    assert d["n_particles"] == 14  # round(0.5 * 27)
    info = run_cli("info", tmp_path / "a.h5")
    assert info.returncode == 0, info.stderr
    assert "pending" in info.stdout and info.stdout.strip().splitlines()[-1].split()[1:4] == ["12", "0", "0"]
    # rerun: everything already done
    r = run_cli("run", job, "--output", tmp_path / "a.h5", "--quiet")
    assert r.returncode == 0 and "0 tasks done, 12 already done" in r.stdout


def test_tasks_are_realisation_major(tmp_path):
    """A run stopped after k tasks leaves every point with about k / points realisations:
    the first len(points) tasks are realisation 0 of every point, and so on; a task's
    index is its position, names are unique."""
    from simglass.jobfile import load_job
    job = load_job(write(tmp_path, SMALL))
    tasks = job.tasks()
    n_p = len(job.points())
    assert [t.index for t in tasks] == list(range(len(tasks)))
    assert len({t.name for t in tasks}) == len(tasks) == n_p * job.realizations
    for k in range(0, len(tasks), n_p):
        block = tasks[k:k + n_p]
        assert [t.point for t in block] == list(range(n_p))
        assert {t.realization for t in block} == {k // n_p}


def test_disorder_identical_across_points(small_results):
    """The disorder of realisation r is the same at every parameter point: V_mean/J is
    equal for J = 0.5 and J = 1.0 (same density)."""
    d = task_datasets(small_results)
    # points: (J, density) = (0.5, .25), (0.5, .5), (1, .25), (1, .5)
    for r in range(3):
        a, b = d[f"p0000_r{r:05d}"], d[f"p0002_r{r:05d}"]
        assert np.isclose(a["V_mean"] / 0.5, b["V_mean"] / 1.0, rtol=1e-12)
        assert a["eps_mean"] == b["eps_mean"]


def test_first_realization_runs_the_rest_of_a_job(tmp_path, small_results):
    """first_realization = r0 runs realisations r0 .. r0 + R - 1 with the disorder and the
    names the whole job gives them (the rest of a job whose results file is lost, on a
    new machine), and every reader labels them so: the records equal the full run's
    realisations 1 and 2, and task_table, load_points and the compact table say r = 1, 2."""
    from simglass.analysis.compact import export, read_table
    from simglass.analysis.load import load_points, task_table
    rest = write(tmp_path, SMALL.replace("realizations = 3", "realizations = 2\nfirst_realization = 1"))
    r = run_cli("run", rest, "--output", tmp_path / "rest.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    full, part = task_datasets(small_results), task_datasets(tmp_path / "rest.h5")
    assert sorted(part) == sorted(n for n in full if not n.endswith("_r00000"))
    for name, d in part.items():
        assert d.keys() == full[name].keys()
        for k in d:
            assert np.array_equal(np.asarray(d[k]), np.asarray(full[name][k])), (name, k)
    assert sorted(set(task_table(tmp_path / "rest.h5")["realization"])) == [1, 2]
    assert all(p.realizations == [1, 2] for p in load_points(tmp_path / "rest.h5")[1])
    export([tmp_path / "rest.h5"], tmp_path / "rest.csv", str(rest))
    assert all(p.realizations == [1, 2] for p in read_table(tmp_path / "rest.csv")[1])
    bad = write(tmp_path, SMALL.replace("seed = 3", "seed = 3\nfirst_realization = -1"), "bad.toml")
    r = run_cli("run", bad, "--output", tmp_path / "bad.h5", "--quiet")
    assert r.returncode == 2 and "first_realization" in r.stderr and ">= 0" in r.stderr
    assert not (tmp_path / "bad.h5").exists()


def test_mpi_equals_serial(tmp_path, small_results):
    job = write(tmp_path, SMALL)
    r2 = subprocess.run([str(BIN / "mpiexec"), "-n", "3", *simglass_cmd("run", job, "--output",
                        tmp_path / "mpi.h5", "--quiet")], capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stderr
    assert "12 tasks done" in r2.stdout
    assert_same_results(small_results, tmp_path / "mpi.h5")     # the serial run's file
    with stored(tmp_path / "mpi.h5") as (_, tasks):
        ranks = set(tasks.rank.tolist())
    assert ranks <= {1, 2} and ranks


def test_task_servers_equal_serial(tmp_path, small_results):
    """Ranks 1..S serve the workers and send rank 0 batches (simglass.runner): the same
    data as the serial run, computed by the workers only; a resume with nothing left and
    a job with fewer tasks than the servers could hold end normally."""
    job = write(tmp_path, SMALL)
    out = tmp_path / "servers.h5"
    for k in range(2):
        r = subprocess.run([str(BIN / "mpiexec"), "-n", "7", *simglass_cmd("run", job, "--output", out,
                            "--quiet", "--servers", "2")], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert ("12 tasks done" if k == 0 else "0 tasks done, 12 already done") in r.stdout
    assert_same_results(small_results, out)
    with stored(out) as (_, tasks):
        ranks = set(tasks.rank.tolist())
    assert ranks <= {3, 4, 5, 6} and ranks


MIXED_TIMES = r"""
import sys, time
from simglass import runner, tasks
from simglass.jobfile import parse_job
JOB = 'engine = "disorder"\nseed = 1\nrealizations = {n}\n[model]\nL = [4]\nJ = 1.0\n[options]\nn_configs = 1\n'
record = tasks.run_task(parse_job(JOB.format(n=1)), parse_job(JOB.format(n=1)).tasks()[0])

def run(job, task):                  # every 50th task 0.2 s, the others 0.5 ms
    time.sleep(0.2 if task.index % 50 == 0 else 0.0005)
    return dict(record)
runner.run_task = run
n = int(sys.argv[2])
s = runner.run_job(parse_job(JOB.format(n=n)), output=sys.argv[1], progress=False, comm=runner.mpi_world(),
                   servers=int(sys.argv[3]))
if runner.mpi_world().Get_rank() == 0:
    print(f"done {s.done} of {s.total}")
"""


def test_every_task_runs_when_task_times_vary(tmp_path):
    """A task server whose reserve exceeds what it asks for must still get every task:
    a reply 'nothing for you now' once ended a server's supply for good (322 of 4000 tasks
    done, exit 0, in 3 of 4 runs of this job; twice here)."""
    script = tmp_path / "mixed.py"
    script.write_text(MIXED_TIMES)
    for k in range(2):
        r = subprocess.run([str(BIN / "mpiexec"), "-n", "4", str(BIN / "python"), script, tmp_path / f"m{k}.h5",
                            "4000", "1"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "done 4000 of 4000" in r.stdout, r.stdout


def test_chunks_follow_task_times():
    """One task per chunk until task times are known, then about CHUNK_SECONDS of work by
    a moving average of the reported task times, at most MAX_CHUNK and at most
    1/(2 × workers) of the queue (simglass.runner._Dispatch)."""
    from simglass.runner import AHEAD, CHUNK_SECONDS, MAX_CHUNK, _Dispatch
    sent = []

    class Comm:
        def send(self, obj, dest, tag):
            sent.append((dest, obj))
    d = _Dispatch(Comm(), [1, 2], range(100_000))
    d.fill()
    assert [len(c) for _, c in sent] == [1] * (2 * AHEAD)
    d.reported(1, [(0, None, None, CHUNK_SECONDS / 100)])        # 100 tasks in CHUNK_SECONDS
    assert sent[-1][0] == 1 and len(sent[-1][1]) == 100
    for _ in range(30):                                          # trivial tasks: MAX_CHUNK
        d.held[2] += 1
        d.reported(2, [(i, None, None, 1e-9) for i in range(1000)])
    assert len(sent[-1][1]) == MAX_CHUNK
    d.reported(1, [(2, None, None, 1e3)])                        # then long ones: one at a time at once
    assert len(sent[-1][1]) == 1
    handed = [i for _, c in sent for i in c]
    assert sorted(handed) == list(range(len(handed)))            # in order, none twice
    d.queue = type(d.queue)(range(10))                           # the end: 10 // (2 × 2) tasks
    d.task_time = 1e-9
    d.reported(2, [(3, None, None, 1e-9)])
    assert len(sent[-1][1]) == 2


def test_serving_ranks():
    from simglass.options import InputError
    from simglass.runner import FLAT_MAX, serving_ranks
    assert serving_ranks(FLAT_MAX + 1) == 0                 # rank 0 serves up to FLAT_MAX workers
    assert serving_ranks(FLAT_MAX + 2) == 1
    assert serving_ranks(1001) == 16                        # 1,000 workers: about 65 per server
    assert serving_ranks(7, 2) == 2 and serving_ranks(1001, 0) == 0
    for size, servers in ((4, 2), (7, -1), (7, 1.5), (7, True)):
        with pytest.raises(InputError, match="servers"):
            serving_ranks(size, servers)


def test_too_many_servers_is_one_line(tmp_path):
    job = write(tmp_path, SMALL)
    r = subprocess.run([str(BIN / "mpiexec"), "-n", "4", *simglass_cmd("run", job, "--output", tmp_path / "x.h5",
                        "--quiet", "--servers", "2")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert [x for x in r.stderr.splitlines() if x.strip()] == [
        "simglass: error: servers = 2 needs at least 5 ranks (each server serves at least one worker), got 4"]
    assert not (tmp_path / "x.h5").exists()


HARTREE_RERUN = """
engine = "hartree"
seed = 11
realizations = 2
[model]
L = [4, 4, 4]
t = 1.0
[scan]
J = [4.0, 5.0]
[options]
starts = ["classical", "random"]
"""


def test_reruns_are_bit_identical(tmp_path):
    """Same job, seed and thread count: identical datasets (wall times aside), serially
    and under mpiexec.  Every random draw, ARPACK's start vector in the stability check
    included, comes from the task's generator."""
    job = write(tmp_path, HARTREE_RERUN)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    outs = []
    for k, launcher in enumerate(([], [], [str(BIN / "mpiexec"), "-n", "3"])):
        out = tmp_path / f"run{k}.h5"
        r = subprocess.run([*launcher, *simglass_cmd("run", job, "--output", out, "--quiet")],
                           capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append(out)
    assert_same_results(outs[0], outs[1])
    assert_same_results(outs[0], outs[2])


def test_sigkill_and_resume(tmp_path, slow_reference):
    # 120 tasks: the first batch is committed after about 1 s (about 20 tasks of SLOW_JOB)
    job = write(tmp_path, slow_job(120))
    out = tmp_path / "killed.h5"
    p = subprocess.Popen(simglass_cmd("run", job, "--output", out, "--quiet"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while _count_done(out) < 3 and time.time() - t0 < 120:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    n_before = _count_done(out)
    assert 3 <= n_before < 120, n_before
    # the killed SWMR writer leaves HDF5's "open for writing" flags: only an SWMR read
    # opens the file, which the readers do by themselves (docs/jobs.md "Results layout")
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(out, "r", locking=False)
    h5py.File(out, "r", locking=False, swmr=True, libver="latest").close()
    a = run_cli("analyze", out)  # the partial file of a killed job can be analysed
    assert a.returncode == 0 and f" {n_before} " in a.stdout, a.stdout + a.stderr
    r = run_cli("run", job, "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"{n_before} already done" in r.stdout
    assert f"left open by a stopped writer: its {n_before} completed tasks were copied" in r.stderr
    h5py.File(out, "r").close()   # a normal file again
    assert f"{120 - n_before} tasks done" in r.stdout
    assert_same_results(out, slow_reference(120))    # an uninterrupted run of the same job


@pytest.mark.parametrize("ranks", [0, 3, 7])
def test_sigterm_one_line_and_resume(tmp_path, ranks, slow_reference):
    """A batch system's SIGTERM (time limit, scancel): one line saying how to resume,
    once, exit status 143 (128 + 15), no launcher noise; the resumed file equals an
    uninterrupted run.  7 ranks: with two task servers (simglass.runner)."""
    # 120 tasks: the first batch is committed after about 1 s (simglass.column_layout),
    # and under mpiexec 24 tasks take less than that, so the signal came after the run
    job = write(tmp_path, slow_job(120))
    out = tmp_path / "term.h5"
    launcher = [str(BIN / "mpiexec"), "-n", str(ranks)] if ranks else []
    servers = ["--servers", "2"] if ranks == 7 else []
    p = subprocess.Popen([*launcher, *simglass_cmd("run", job, "--output", out, "--quiet", *servers)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while _count_done(out) < 3 and time.time() - t0 < 120:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    # serially 128 + 15; MPICH's launcher, signalled itself, may kill a rank that is leaving
    # (then 9, docs/jobs.md "Signals"): a failure status either way
    assert p.returncode == 143 or (ranks and p.returncode == 9), (p.returncode, err)
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines == ["simglass: stopped by SIGTERM; completed tasks are saved, rerun the same command to resume"], err
    n_before = _count_done(out)
    assert 3 <= n_before < 120
    r = subprocess.run([*launcher, *simglass_cmd("run", job, "--output", out, "--quiet", *servers)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and f"{n_before} already done" in r.stdout, r.stderr
    assert_same_results(out, slow_reference(120))    # an uninterrupted run of the same job


@pytest.mark.parametrize("ranks", [0, 3])
def test_sigterm_after_a_complete_run_is_ignored(tmp_path, ranks):
    """A SIGTERM that arrives after the run is complete, during the exit (MPI_Finalize
    waits for every rank; a batch system's time limit can fall there): the run ends as it
    finished, exit 0, no line and no launcher noise.  The exit is held open for 3 s after
    simglass.cli.main returns, so that the signal lands there every time."""
    import sys
    job = write(tmp_path, SMALL)
    out = tmp_path / "done.h5"
    code = ("import sys, time; from simglass.cli import main; c = main(); "      # as the console script
            "print('returned', flush=True); time.sleep(3); sys.exit(c)")
    launcher = [str(BIN / "mpiexec"), "-n", str(ranks)] if ranks else []
    p = subprocess.Popen([*launcher, sys.executable, "-c", code, "run", str(job), "--output", str(out), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import select
    seen, deadline = [], time.time() + 120

    def returned():   # ranks' lines may interleave in mpiexec's output ("returnedreturned\n")
        return "".join(seen).count("returned")
    while returned() < max(ranks, 1) and time.time() < deadline:
        if select.select([p.stdout], [], [], 1.0)[0]:      # every rank past main
            line = p.stdout.readline()
            if not line:
                break
            seen.append(line)
    if returned() < max(ranks, 1):
        p.kill()
    assert returned() == max(ranks, 1), seen
    p.send_signal(signal.SIGTERM)
    rest, err = p.communicate(timeout=60)
    assert p.returncode == 0, (p.returncode, err)
    assert err.strip() == "", err
    assert "12 tasks done" in "".join(seen), seen


def test_main_as_a_function_keeps_the_callers_signal_handling(tmp_path):
    """main() called from a program (argv given) leaves SIGTERM and SIGHUP to it after
    the run, as they were before the call (the run itself installs its own)."""
    from simglass.cli import main
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    assert main(["run", str(write(tmp_path, SMALL)), "--output", str(tmp_path / "a.h5"), "--quiet"]) == 0
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN
    assert signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN
    signal.signal(signal.SIGTERM, before[0])
    signal.signal(signal.SIGHUP, before[1])


def _run_with_engine_calls(tmp_path, monkeypatch, before):
    """Run SMALL serially (realisation-major: call k is point (k - 1) % 4) with
    disorder_engine.run preceded by ``before(k)`` (which may sleep or raise); returns
    (job, results file, the original run, cli main) after asserting exit code 1."""
    from simglass import disorder_engine
    from simglass.cli import main
    calls = {"n": 0}
    orig = disorder_engine.run

    def patched(model, rng, **kw):
        calls["n"] += 1
        before(calls["n"])
        return orig(model, rng, **kw)

    monkeypatch.setattr(disorder_engine, "run", patched)
    job = write(tmp_path, SMALL)
    out = tmp_path / "f.h5"
    assert main(["run", str(job), "--output", str(out), "--quiet"]) == 1
    return job, out, orig, main


def test_failed_task_recorded(tmp_path, monkeypatch):
    """A task that raises is stored with its traceback; the others complete; exit 1."""
    from simglass import disorder_engine

    def flaky(k):
        if k == 2:
            raise RuntimeError("boom")

    job, out, orig, main = _run_with_engine_calls(tmp_path, monkeypatch, flaky)
    with stored(out) as (_, tasks):
        assert (tasks.status == 2).sum() == 1 and (tasks.status == 1).sum() == 11
        assert "RuntimeError: boom" in tasks.traceback(int(np.flatnonzero(tasks.status == 2)[0]))
    monkeypatch.setattr(disorder_engine, "run", orig)
    assert main(["run", str(job), "--output", str(out), "--quiet"]) == 0  # retried


def test_info_estimates_the_task_time_to_go(tmp_path, monkeypatch, capsys):
    """`simglass info` prints per point the mean wall time of its done tasks and "to go",
    the pending and failed tasks times that mean; a point with no done task takes the
    mean of all done tasks (docs/jobs.md)."""
    def slow_or_failing(k):                           # call k is point (k - 1) % 4
        time.sleep(0.2 * (k % 4) if k % 4 else 0.5)   # points 0, 1, 2: about 0.2, 0.4, 0.6 s; 3: 0.5 s
        if k % 4 == 0 or k == 9:                      # point 3 fails; so does realisation 2 of point 0,
            raise RuntimeError("boom")                # after its 0.2 s, which the mean must leave out

    _, out, _, main = _run_with_engine_calls(tmp_path, monkeypatch, slow_or_failing)
    with stored(out) as (_, tasks):
        point = np.arange(tasks.n_tasks) % 4
        wall = [tasks.wall_time[(point == p) & (tasks.status == 1)] for p in range(4)]
    assert [w.size for w in wall] == [2, 3, 3, 0]
    mean_all = np.concatenate(wall).mean()
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(x for x in lines if x.split()[:1] == ["point"])
    assert head.split()[-8:] == ["wall", "[s]", "per", "task", "[s]", "to", "go", "[s]"]
    rows = {x.split()[0]: x.split()[-2:] for x in lines if x.split()[:1] in (["0"], ["1"], ["2"], ["3"], ["all"])}
    for p in range(3):
        assert float(rows[str(p)][0]) == pytest.approx(wall[p].mean(), abs=0.051)
        assert float(rows[str(p)][1]) == pytest.approx((3 - wall[p].size) * wall[p].mean(), abs=0.051)
    assert float(rows["0"][0]) < 0.3 < float(rows["1"][0]) < 0.5 < float(rows["2"][0])   # each point its own mean
    assert rows["3"][0] == "-" and float(rows["3"][1]) == pytest.approx(3 * mean_all, abs=0.051)
    assert float(rows["all"][0]) == pytest.approx(mean_all, abs=0.051)
    assert float(rows["all"][1]) == pytest.approx(wall[0].mean() + 3 * mean_all, abs=0.11)


# ---- bad input: exit 2, one line naming the key, no traceback, no file ----------

BAD = {
    "syntax": ("engine = 'disorder\n[model]\nL=[2]\n", "TOML syntax error"),
    "unknown key": (SMALL.replace("W = 0.5", "W = 0.5\nJj = 1.0"), "'Jj'"),
    "unknown top key": ("realisations = 3\n" + SMALL, "'realisations'"),
    "missing engine": (SMALL.replace('engine = "disorder"', ""), "'engine'"),
    "missing L": (SMALL.replace("L = [3, 3, 3]", ""), "'L'"),
    "wrong type": (SMALL.replace("W = 0.5", "W = 'big'"), "model.W"),
    "L = 0": (SMALL.replace("L = [3, 3, 3]", "L = [3, 0, 3]"), "model.L = 0"),
    "density": (SMALL.replace("density = [0.25, 0.5]", "density = [0.25, 1.5]"), "scan.density = 1.5"),
    "n_particles > N": (SMALL.replace("density = [0.25, 0.5]", "n_particles = [28]"), "n_particles = 28"),
    "negative J": (SMALL.replace("J = [0.5, 1.0]", "J = [-1.0]"), "scan.J = -1.0"),
    "negative W": (SMALL.replace("W = 0.5", "W = -0.5"), "model.W = -0.5"),
    "unknown engine": (SMALL.replace('"disorder"', '"dmrg"'), "'dmrg'"),
    "unknown option": (SMALL.replace("n_configs", "n_config"), "'n_config'"),
    "bad option": (SMALL.replace("n_configs = 8", "n_configs = 0"), "options.n_configs"),
    "both": (SMALL.replace("W = 0.5", "W = 0.5\nJ = 1.0"), "'J'"),
}


def _one_error_line(stderr, needle):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simglass: error:"), stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_job_files(tmp_path, case, capsys):
    """Each case through simglass.cli.main, the command line's function, in this process
    (an exception other than the one-line error would fail the test); the command line
    itself, as a process, in test_bad_job_file_on_the_command_line."""
    from simglass.cli import main
    text, needle = BAD[case]
    job = write(tmp_path, text)
    out = tmp_path / "out.h5"
    capsys.readouterr()
    assert main(["run", str(job), "--output", str(out)]) == 2
    _one_error_line(capsys.readouterr().err, needle)
    assert not out.exists()


def test_bad_job_file_on_the_command_line(tmp_path):
    text, needle = BAD["unknown key"]
    job = write(tmp_path, text)
    out = tmp_path / "out.h5"
    r = run_cli("run", job, "--output", out)
    assert r.returncode == 2
    _one_error_line(r.stderr, needle)
    assert not out.exists()


def test_missing_job_file(tmp_path):
    r = run_cli("run", tmp_path / "nope.toml")
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_different_job_refused(tmp_path, in_process):
    job = write(tmp_path, SMALL)
    out = tmp_path / "a.h5"
    assert in_process("run", job, "--output", out, "--quiet").returncode == 0
    before = task_datasets(out)
    other = write(tmp_path, SMALL.replace("seed = 3", "seed = 4"), "other.toml")
    r = in_process("run", other, "--output", out, "--quiet")
    assert r.returncode == 2 and "different job" in r.stderr and "--overwrite" in r.stderr
    assert_same_results(out, out)
    assert sorted(task_datasets(out)) == sorted(before)
    r = in_process("run", other, "--output", out, "--quiet", "--overwrite")
    assert r.returncode == 0
    with h5py.File(out, "r") as f:
        assert "seed = 4" in f.attrs["job_toml"]


def test_analyze_bad_file(tmp_path, in_process):
    r = in_process("analyze", tmp_path / "missing.h5")
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_info_bad_file(tmp_path, in_process):
    (tmp_path / "x.h5").write_text("not hdf5")
    r = in_process("info", tmp_path / "x.h5")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f.attrs["format"] = "other"
    r = in_process("info", tmp_path / "y.h5")
    assert r.returncode == 2 and "format" in r.stderr


def test_half_written_task_groups_are_skipped(tmp_path, in_process):
    """A task group that the running job has not finished writing (no attributes yet,
    or a link h5py cannot resolve) is pending for `simglass info` and the analyses,
    not a traceback."""
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    out = tmp_path / "s.h5"     # the group layout of files written before issue 36
    assert run_job(parse_job(SMALL), output=str(out), progress=False, layout="groups").done == 12
    with h5py.File(out, "a") as f:
        f["tasks"].create_group("zzzz_in_flight")                  # no status, no point
        f["tasks"]["zzzz_dangling"] = h5py.SoftLink("/nowhere")    # reads as None
    r = in_process("info", out)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    from simglass.analysis.load import load_points
    _, points = load_points(out)
    assert sum(len(p.records) for p in points) == 12


def test_info_counts_flagged_results(tmp_path, in_process):
    """`simglass info` counts, per point, the done tasks whose engine flags (FLAGS of the
    engine: converged, stable, degenerate for hartree) differ from a sound result."""
    job = write(tmp_path, """
engine = "hartree"
seed = 5
realizations = 3
[model]
L = [4, 4, 4]
t = 1.0
W = 0.0
density = 0.5
[scan]
J = [1.0, 2.0]
[options]
starts = ["classical"]
""")
    out = tmp_path / "h.h5"
    assert in_process("run", job, "--output", out, "--quiet").returncode == 0
    with h5py.File(out, "a") as f:      # the columnar layout (simglass.column_layout)
        n_points = 2
        for (point, r), key, value in (((1, 0), "converged", False), ((1, 2), "stable", False)):
            row = f["row"][r * n_points + point]
            f["columns"][key]["values"][row] = value
        bad = f["columns/degenerate/values"][:].any()
    r = in_process("info", out)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    row = next(x for x in lines if x.split()[:1] == ["1"])
    assert not bad  # this seed has no degenerate Fermi level
    assert row.split()[-5:] == ["2", "(converged", "1,", "stable", "1)"]
    assert "flagged: done tasks with converged != True" in r.stdout


def test_options_used_are_stored_and_checked_on_resume(tmp_path, in_process):
    """Issue 22: the results file keeps the engine options the tasks ran with (defaults
    filled in); reading returns those, and a resume under other defaults is refused."""
    import json
    job = write(tmp_path, SMALL.replace("realizations = 3", "realizations = 2"))
    out = tmp_path / "o.h5"
    assert in_process("run", job, "--output", out, "--quiet").returncode == 0
    from simglass.results import read_results
    f, j = read_results(out)
    with f:
        assert json.loads(f.attrs["options"]) == {"n_configs": 8}
    assert j.options == {"n_configs": 8}
    with h5py.File(out, "a") as f:       # as if an older default had been in force
        f.attrs["options"] = json.dumps({"n_configs": 4})
    f, j = read_results(out)
    f.close()
    assert j.options == {"n_configs": 4}
    r = in_process("run", job, "--output", out, "--quiet")
    assert r.returncode == 2 and "other engine options" in r.stderr and "n_configs" in r.stderr
    assert "options used" in in_process("info", out).stdout
    with h5py.File(out, "a") as f:       # written before an option existed: resumes
        f.attrs["options"] = json.dumps({})
    assert in_process("run", job, "--output", out, "--quiet").returncode == 0
    with h5py.File(out, "a") as f:       # an option that no longer exists: refused, named
        f.attrs["options"] = json.dumps({"n_configs": 8, "old_knob": 1})
    r = in_process("run", job, "--output", out, "--quiet")
    assert r.returncode == 2 and "old_knob" in r.stderr and "no longer an option" in r.stderr


def test_every_engine_has_an_analysis():
    from simglass.analysis.dispatch import ANALYSES
    from simglass.engines import ENGINES
    assert set(ANALYSES) == set(ENGINES)


def test_results_file_written_before_the_changes_reads_the_same(tmp_path, in_process):
    """Issue 22: a results file written by the code of commit 7a1cfd3 (no stored options,
    no n_particles records) is read, described and analysed by today's code with the
    numbers that code gave (its analysis printed the two fits below)."""
    from simglass.analysis.coulomb_gap import analyze
    from simglass.analysis.load import task_table
    old = Path(__file__).parent / "data" / "mc_written_by_7a1cfd3.h5"
    fits = analyze(old)
    assert [(f.N, f.realizations) for f in fits] == [(64, 6), (96, 6)]
    assert fits[0].alpha == pytest.approx(1.8104743507190413, rel=1e-12)
    assert fits[0].alpha_err == pytest.approx(0.39064500970070504, rel=1e-12)
    assert fits[1].alpha == pytest.approx(1.2187547622405335, rel=1e-12)
    assert fits[1].chi2_dof == pytest.approx(0.7916570335347145, rel=1e-12)
    assert len(task_table(old)) == 12
    info = in_process("info", old)
    assert info.returncode == 0 and "options used" not in info.stdout   # it did not store them
    # resuming it with today's code is allowed (nothing to compare) and runs nothing
    job = tmp_path / "old.toml"
    from simglass.results import read_results
    f, j = read_results(old)
    with f:
        job.write_text(f.attrs["job_toml"])
    shutil.copy(old, tmp_path / "copy.h5")
    r = in_process("run", job, "--output", tmp_path / "copy.h5", "--quiet")
    assert r.returncode == 0 and "12 already done" in r.stdout, r.stderr


# ---- command-line edges (issue 33, item 8) --------------------------------------

@pytest.mark.parametrize("overwrite", [False, True])
def test_output_that_is_a_directory(tmp_path, overwrite, in_process):
    job = write(tmp_path, SMALL)
    (tmp_path / "adir").mkdir()
    r = in_process("run", job, "--output", tmp_path / "adir", "--quiet", *(["--overwrite"] if overwrite else []))
    assert r.returncode == 2 and "is a directory" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "adir").is_dir()


def test_unknown_engine_name():
    r = run_cli("engines", "nosuch")
    assert r.returncode == 2 and "unknown engine 'nosuch'" in r.stderr and "hartree" in r.stderr


@pytest.mark.parametrize("command", ["engines", "info"])
def test_output_to_a_closed_pipe(small_results, command):
    """`simglass info FILE | head`: the reader stops; no BrokenPipeError traceback."""
    args = ["info", small_results] if command == "info" else ["engines"]
    p = subprocess.Popen(simglass_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()   # before the program writes
    err = p.stderr.read()
    p.wait(timeout=60)
    assert p.returncode == 141 and "Traceback" not in err, err


def test_analyze_with_nothing_completed(tmp_path):
    """No completed task (none run, or all failed): one line saying so, exit 1, no NaN
    rows or warnings."""
    from simglass.jobfile import parse_job
    from simglass.results import ResultsFile
    empty = tmp_path / "empty.h5"
    ResultsFile(empty, parse_job('engine = "saddle"\n[model]\nt = 1.0\ndensity = 0.3\n'
                                 '[options]\nn_q = 4\nn_k = 4\nn_omega = 8\n')).close()
    failed = tmp_path / "failed.h5"
    job = parse_job('engine = "hartree"\nrealizations = 2\n[model]\nL = [4, 4]\nt = 1.0\n'
                    '[scan]\nJ = [1.0, 2.0]\n')
    res = ResultsFile(failed, job)
    for task in job.tasks():
        res.write(task, None, 0.0, error="RuntimeError: boom")
    res.close()
    for path, what in ((empty, "0 failed, 1 pending"), (failed, "4 failed, 0 pending")):
        r = run_cli("analyze", path)
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"no completed task ({what})" in r.stderr and "Traceback" not in r.stderr
        assert "Warning" not in r.stderr and "nan" not in r.stdout.lower()


def test_resume_of_an_edited_job_names_the_difference(tmp_path, in_process):
    """Resuming compares the normalised jobs: J = 1 and J = 1.0, or a default written
    out, are the same job; a changed value is refused naming the key."""
    job = write(tmp_path, SMALL)
    out = tmp_path / "a.h5"
    assert in_process("run", job, "--output", out, "--quiet").returncode == 0
    same = write(tmp_path, SMALL.replace("J = [0.5, 1.0]", "J = [0.5, 1]").replace("W = 0.5", "W = 0.5\nt = 0.0"),
                 "same.toml")
    r = in_process("run", same, "--output", out, "--quiet")
    assert r.returncode == 0 and "12 already done" in r.stdout, r.stderr
    edited = write(tmp_path, SMALL.replace("W = 0.5", "W = 0.75"), "edited.toml")
    r = in_process("run", edited, "--output", out, "--quiet")
    assert r.returncode == 2 and "[model] W: 0.5 there, 0.75 here" in r.stderr, r.stderr
    # the same scan in another key order numbers the points differently: another job
    swapped = write(tmp_path, SMALL.replace("J = [0.5, 1.0]\ndensity = [0.25, 0.5]",
                                            "density = [0.25, 0.5]\nJ = [0.5, 1.0]"), "swapped.toml")
    assert swapped.read_text() != SMALL
    r = in_process("run", swapped, "--output", out, "--quiet")
    assert r.returncode == 2 and "scan order" in r.stderr, r.stderr


def test_task_table_has_every_model_parameter_and_N(small_results):
    """Fixed model parameters are columns too (tables of several files concatenate), and
    N sorts sizes numerically."""
    from simglass.analysis.load import task_table
    df = task_table(small_results)
    assert list(df.columns[:2]) == ["J", "density"]
    assert {"W", "t", "L", "onsite", "N"} <= set(df.columns)
    assert (df["W"] == 0.5).all() and (df["L"] == "3x3x3").all() and (df["N"] == 27).all()


@pytest.mark.parametrize("env, expected", [({"OMP_NUM_THREADS": "1"}, 1), ({"OMP_NUM_THREADS": "1,2"}, 1),
                                           ({"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "2"}, None),
                                           ({}, None), ({"OMP_NUM_THREADS": "x"}, None),
                                           ({"OMP_NUM_THREADS": "0"}, None)])
def test_numba_threads_follow_omp_num_threads(monkeypatch, env, expected):
    """numba reads only NUMBA_NUM_THREADS; the runner makes it follow OMP_NUM_THREADS, the
    usual way to ask for one thread per rank, unless NUMBA_NUM_THREADS is set.  Before,
    `OMP_NUM_THREADS=1 mpiexec -n 3 simglass run` left two numba threads per worker."""
    import numba
    from simglass.runner import numba_follows_omp
    before = numba.get_num_threads()
    for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        assert numba_follows_omp() == expected
        assert numba.get_num_threads() == (before if expected is None else expected)
    finally:
        numba.set_num_threads(before)


def test_serial_run_and_mpi_ranks_follow_omp_num_threads(tmp_path, monkeypatch):
    """The whole kind: a serial run in this process, and every rank under mpiexec (whose
    thread share is skipped once OMP_NUM_THREADS is set), run with one numba thread."""
    import numba
    from simglass.jobfile import load_job
    from simglass.runner import run_job, share_cores
    before = numba.get_num_threads()
    if before < 2:
        pytest.skip("one core: nothing to limit")
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    try:
        run_job(load_job(write(tmp_path, SMALL)), str(tmp_path / "r.h5"), progress=False)
        assert numba.get_num_threads() == 1
        numba.set_num_threads(before)
        assert share_cores(None) is None and numba.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "999")           # clipped to numba's maximum
        from simglass.runner import numba_follows_omp
        assert numba_follows_omp() == numba.config.NUMBA_NUM_THREADS
    finally:
        numba.set_num_threads(before)


def test_mpi_share_limits_the_pools_the_user_did_not_set(monkeypatch):
    """Under mpiexec each pool is left to the user only when its own variables are set:
    with OPENBLAS_NUM_THREADS alone, numba still gets the rank's share of the cores (a
    review found it kept one thread per core, as OMP_NUM_THREADS alone did before)."""
    import numba
    from simglass import runner
    before = numba.get_num_threads()
    if before < 2:
        pytest.skip("one core: nothing to limit")
    for k in runner.THREAD_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.setattr(runner, "_rank_share", lambda comm: 1)
    try:
        assert runner.share_cores(object()) == 1 and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)
