import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent


def textbook_chi0(E, psi, nf):
    """-χ⁰ of a single-particle spectrum (E, psi) with N_f levels filled, by the dense
    sum 2 Σ_{a occ, b empty} psi_a(i) psi_b(i) psi_a(j) psi_b(j) / (E_b - E_a)."""
    chi = np.zeros((psi.shape[0],) * 2)
    for a in range(nf):
        for b in range(nf, psi.shape[1]):
            v = psi[:, a] * psi[:, b]
            chi += 2 * np.outer(v, v) / (E[b] - E[a])
    return chi


def simglass_cmd(*args):
    return [str(BIN / "simglass"), *map(str, args)]


def simglass_cmd_batches_of(n, *args):
    """simglass_cmd with the columnar writer's batches cut at ``n`` tasks (and no age
    bound): a small job then writes several batches (simglass.column_layout)."""
    code = ("import sys; from simglass import column_layout as c; c.BATCH_TASKS = %d; "
            "c.BATCH_SECONDS = 1e9; from simglass.cli import main; sys.exit(main(sys.argv[1:]))" % n)
    return [sys.executable, "-c", code, *map(str, args)]


def run_cli(*args, cwd=None, **kw):
    env = dict(os.environ)
    return subprocess.run(simglass_cmd(*args), cwd=cwd, capture_output=True, text=True, env=env, **kw)


def task_datasets(path):
    """{task name: {record entry: value, "@status", "@params"}} of a results file of either
    layout (simglass.contract.task_contents), for equality checks."""
    from simglass.contract import task_contents
    return task_contents(path)


@contextlib.contextmanager
def stored(path):
    """(job, StoredTasks) of a results file (simglass.results.stored_tasks), open in the block."""
    from simglass.results import read_results, stored_tasks
    f, job = read_results(path)
    with f:
        yield job, stored_tasks(f, job, path)


def assert_same_results(a, b):
    da, db = task_datasets(a), task_datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert sorted(da[name]) == sorted(db[name]), name
        for k in da[name]:
            x, y = np.asarray(da[name][k]), np.asarray(db[name][k])
            nan = x.dtype.kind in "fc" and y.dtype.kind in "fc"       # a NaN output equals itself here
            assert np.array_equal(x, y, equal_nan=nan), (name, k)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def in_process(capsys):
    """run_cli's twin for tests of what a command does rather than of the process:
    simglass.cli.main(args), the console script's function, called in this process.
    Returns returncode, stdout and stderr as run_cli does; an exception that main does
    not turn into an exit code propagates (the test fails).  Python warnings go to
    pytest here, not to stderr: tests that check stderr for warnings use run_cli."""
    from types import SimpleNamespace

    from simglass.cli import main

    def call(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)
    return call


# a disorder job slow enough (about 0.1 s per task) to kill, lock or read while it runs
SLOW_JOB = """
engine = "disorder"
seed = 8
realizations = 24
[model]
L = [8, 8, 6]
J = 1.0
[options]
n_configs = 3000
"""


def slow_job(realizations):
    """SLOW_JOB with ``realizations`` realisations (one task each)."""
    return SLOW_JOB.replace("realizations = 24", f"realizations = {realizations}")


_SLOW_REFERENCES = {}   # realisations -> results file, shared by every test of one pytest run


@pytest.fixture
def slow_reference(tmp_path_factory):
    """slow_reference(k): the results file of an uninterrupted serial `simglass run` of
    slow_job(k), run once per pytest run: the file that a killed, stopped or resumed run
    of the same job must equal (assert_same_results)."""
    done = _SLOW_REFERENCES

    def reference(realizations):
        if realizations not in done:
            d = tmp_path_factory.mktemp(f"slow_reference_{realizations}")
            job = d / "job.toml"
            job.write_text(slow_job(realizations))
            r = run_cli("run", job, "--output", d / "ref.h5", "--quiet")
            assert r.returncode == 0, r.stderr
            done[realizations] = d / "ref.h5"
        return done[realizations]
    return reference


def count_done(path):
    """Completed tasks of a results file that may be being written (0 if unreadable)."""
    try:
        from simglass.results import read_results, stored_tasks
        f, job = read_results(path)
        with f:
            return int((stored_tasks(f, job, path).status == 1).sum())
    except Exception:
        return 0
