"""The columnar results layout (issue 36, simglass.column_layout) against the group
layout of earlier versions: the same per-task numbers, files of earlier versions read
and resumed, a task stored twice read once, and the writer's edge cases."""
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from pathlib import Path

from conftest import assert_same_results, run_cli, stored, task_datasets

DATA = Path(__file__).parent / "data"
# written by `simglass run` of main at commit 2d99f78 (before issue 36): the group layout
OLD = DATA / "hartree_written_by_2d99f78.h5"

SMALL = """
engine = "disorder"
seed = 3
realizations = 3
[model]
L = [3, 3]
[scan]
J = [0.5, 1.0]
[options]
n_configs = 4
"""


# what a rerun of OLD's job by later code may change: the Hartree solver's work counters
# (its path to the same solution), and numbers within the accuracy that the solver
# promises (densities to tol = 1e-8; the stability eigenvalue to the 1e-4 of its check)
SOLVER_WORK = {"iterations", "response_products"}
STABILITY = {"stability", "starts_stability"}
# entries the hartree engine stores since that commit (the multiplicity of the starts,
# issue 32): a rerun has them, the old file cannot
ADDED_SINCE = {"starts_overlap", "starts_distance", "distinct_solutions"}


def assert_same_up_to_the_solver(a, b):
    """assert_same_results for a file of earlier code against a rerun of its job: the
    same tasks, entries, status, parameters, strings and integers; floats within 1e-8
    (1e-4 for the stability eigenvalue); the solver's work counters not compared."""
    da, db = task_datasets(a), task_datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert sorted(set(da[name]) - ADDED_SINCE) == sorted(set(db[name]) - ADDED_SINCE), name
        for k in set(da[name]) - SOLVER_WORK:
            _assert_close(da[name][k], db[name][k], k, name)


def _assert_close(x, y, k, where=""):
    """Floats within 1e-8 (1e-4 for the stability eigenvalue), anything else equal."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind == "f" and y.dtype.kind == "f" and k != "@params":
        assert x.shape == y.shape, (where, k)
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-4 if k in STABILITY else 1e-8, err_msg=f"{where} {k}")
    else:
        assert np.array_equal(x, y), (where, k)


def _job_of(path, tmp_path):
    from simglass.results import read_results
    f, _ = read_results(path)
    with f:
        text = f.attrs["job_toml"]
    job = tmp_path / "job.toml"
    job.write_text(text)
    return job


def test_file_of_the_group_layout_reads_as_a_new_run(tmp_path):
    """A file written by the previous version (group layout) and a fresh run of its job
    (columnar) give the same records (up to the solver's accuracy and work counters:
    the Hartree solver changed since), task table and `simglass info`; resuming the old
    file keeps its layout."""
    from simglass.analysis.load import load_points, task_table
    job = _job_of(OLD, tmp_path)
    new = tmp_path / "new.h5"
    assert run_cli("run", job, "--output", new, "--quiet").returncode == 0
    with h5py.File(new, "r") as f:
        assert f.attrs["format"] == "simglass-results-2"
    assert_same_up_to_the_solver(OLD, new)
    (_, old_points), (_, new_points) = load_points(OLD), load_points(new)
    for a, b in zip(old_points, new_points):
        assert a.realizations == b.realizations
        for ra, rb in zip(a.records, b.records):
            assert sorted(ra) == sorted(set(rb) - ADDED_SINCE)
            assert ra["start"] == rb["start"] and isinstance(rb["start"], str)
            for k in set(ra) - SOLVER_WORK:
                _assert_close(ra[k], rb[k], k)
    drop = [c for c in task_table(new).columns if c in SOLVER_WORK | ADDED_SINCE]
    pd.testing.assert_frame_equal(task_table(OLD).drop(columns=[c for c in drop if c in task_table(OLD).columns]),
                                  task_table(new).drop(columns=drop),
                                  check_exact=False, rtol=0, atol=1e-4)
    info_old, info_new = run_cli("info", OLD), run_cli("info", new)
    assert info_old.returncode == 0 and info_new.returncode == 0
    def counts(out):   # the table of `simglass info` without the wall times (wall, per task, to go)
        return [x.split()[:-4] + x.split()[-1:] for x in out.splitlines()[3:-1]]
    assert counts(info_old.stdout) == counts(info_new.stdout) and len(counts(info_new.stdout)) == 3
    copy = tmp_path / "copy.h5"
    shutil.copy(OLD, copy)
    with h5py.File(copy, "a") as f:
        del f["tasks"]["p0001_r00001"]
    r = run_cli("run", job, "--output", copy, "--quiet")
    assert r.returncode == 0 and "1 tasks done, 3 already done" in r.stdout, r.stderr
    with h5py.File(copy, "r") as f:
        assert f.attrs["format"] == "simglass-results-1" and "p0001_r00001" in f["tasks"]
    assert_same_up_to_the_solver(copy, new)


def test_both_layouts_store_the_same_numbers_and_tables(tmp_path):
    from simglass.analysis.load import task_table
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    job = parse_job(SMALL)
    run_job(job, output=str(tmp_path / "g.h5"), progress=False, layout="groups")
    run_job(job, output=str(tmp_path / "c.h5"), progress=False)
    assert_same_results(tmp_path / "g.h5", tmp_path / "c.h5")
    pd.testing.assert_frame_equal(task_table(tmp_path / "g.h5"), task_table(tmp_path / "c.h5"))


def test_a_task_stored_twice_is_read_once(tmp_path):
    """A failed task that a resumed run completes has two rows; the done map and the row
    index name the second, and readers see the task once, done."""
    from simglass.analysis.load import load_points, task_table
    from simglass.jobfile import parse_job
    from simglass.results import ResultsFile
    job = parse_job(SMALL)
    tasks = job.tasks()
    out = tmp_path / "twice.h5"
    res = ResultsFile(out, job)
    res.write(tasks[0], None, 0.1, error="RuntimeError: boom")
    for t in tasks[1:]:
        res.write(t, {"n_sites": 9, "V_mean": float(t.index)}, 0.1)
    res.close()
    with stored(out) as (_, st):
        assert st.status[0] == 2 and "boom" in st.traceback(0)
    res = ResultsFile(out, job)
    assert res.done_mask().tolist() == [False] + [True] * (len(tasks) - 1)
    res.write(tasks[0], {"n_sites": 9, "V_mean": -1.0}, 0.1)
    res.write(tasks[0], {"n_sites": 9, "V_mean": -2.0}, 0.1)   # twice in one batch: the last counts
    res.close()
    with h5py.File(out, "r") as f:
        assert f["n_rows"][0] == len(tasks) + 2
    with stored(out) as (_, st):
        assert (st.status == 1).all()
    _, points = load_points(out)
    assert sum(len(p.records) for p in points) == len(tasks)
    assert points[0].records[0]["V_mean"] == -2.0
    df = task_table(out)
    assert len(df) == len(tasks) and df["V_mean"].iloc[0] == -2.0
    assert "eps_mean" not in df.columns      # never stored: no column


def test_record_entries_not_declared_make_the_task_failed(tmp_path):
    """The columns come from the engine's OUTPUTS (SWMR cannot add datasets while
    writing): an entry it does not declare, or with other axes, fails the task in one line."""
    from simglass.jobfile import parse_job
    from simglass.results import ResultsFile
    job = parse_job(SMALL)
    t = job.tasks()
    res = ResultsFile(tmp_path / "u.h5", job)
    res.write(t[0], {"n_sites": 9, "surprise": 1.0}, 0.0)
    res.write(t[1], {"V_mean": np.zeros(3)}, 0.0)
    res.write(t[2], {"n_sites": 9.5}, 0.0)
    res.close()
    with stored(tmp_path / "u.h5") as (_, st):
        assert st.status[:3].tolist() == [2, 2, 2]
        assert "'surprise' is not declared in the engine's OUTPUTS" in st.traceback(0)
        assert "'V_mean' has 1 axes" in st.traceback(1)
        assert "'n_sites' is float64, declared int" in st.traceback(2)


def test_scalars_of_every_type_are_stored_exactly(tmp_path):
    """Python and numpy scalars and 0-d arrays (the common ones go into their columns
    without conversion) read back as written; a value that the column's type cannot hold
    (2**63 in an int64 column, which numpy would wrap) fails its task in one line."""
    from simglass.analysis.load import task_table
    from simglass.jobfile import parse_job
    from simglass.results import ResultsFile
    job = parse_job(SMALL.replace("realizations = 3", "realizations = 5"))
    t = job.tasks()
    values = [(9, 0.25), (np.int64(9), np.float64(0.25)), (np.array(9), np.array(0.25)),
              (np.int32(9), np.float32(0.25)), (np.uint64(9), 1), (-2**63, -1e300),
              (np.int16(9), np.longdouble("0.1")), (9, np.longdouble("nan"))]
    res = ResultsFile(tmp_path / "s.h5", job)
    for k, (n, v) in enumerate(values):
        res.write(t[k], {"n_sites": n, "V_mean": v}, 0.0)
    res.write(t[len(values)], {"n_sites": 2**63}, 0.0)
    res.write(t[len(values) + 1], {"n_sites": np.uint64(2**63)}, 0.0)
    res.close()
    df = task_table(tmp_path / "s.h5")
    for k, (n, v) in enumerate(values):
        row = df[(df["point"] == t[k].point) & (df["realization"] == t[k].realization)].iloc[0]
        assert row["n_sites"] == int(n) and (row["V_mean"] == float(v) or np.isnan(v) and np.isnan(row["V_mean"]))
    with stored(tmp_path / "s.h5") as (_, st):
        for k in (len(values), len(values) + 1):
            assert st.status[k] == 2 and "'n_sites' is" in st.traceback(k)


def test_columns_declared_later_are_added_on_resume(tmp_path):
    """A file lacking a column of today's OUTPUTS (an output added since) is copied into
    one with that column on resume; its earlier rows do not have the entry."""
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    job = parse_job(SMALL.replace("realizations = 3", "realizations = 1"))
    out = tmp_path / "later.h5"
    run_job(job, output=str(out), progress=False)
    with h5py.File(out, "a") as f:
        del f["columns"]["shift_msq"]
        f["done"][1] = 0                     # one task to run again
    d = task_datasets(out)
    assert all("shift_msq" not in r for r in d.values())
    summary = run_job(job, output=str(out), progress=False)
    assert summary.done == 1 and summary.skipped == 1
    d = task_datasets(out)
    assert "shift_msq" not in d["p0000_r00000"] and "shift_msq" in d["p0001_r00000"]


def test_batches_are_written_when_full_or_old(tmp_path, monkeypatch):
    """BATCH_TASKS and BATCH_SECONDS bound the batch; readers see whole batches only."""
    from simglass import column_layout
    from simglass.jobfile import parse_job
    from simglass.results import ResultsFile
    monkeypatch.setattr(column_layout, "BATCH_TASKS", 2)
    monkeypatch.setattr(column_layout, "BATCH_SECONDS", 3600.0)
    job = parse_job(SMALL)
    t = job.tasks()
    out = tmp_path / "b.h5"
    res = ResultsFile(out, job)

    def done_seen():   # by another process during the run, as `simglass info` reads
        r = run_cli("info", out)
        assert r.returncode == 0, r.stderr
        return int(r.stdout.splitlines()[-1].split()[1])
    committed = []
    for k in range(3):
        res.write(t[k], {"n_sites": 9}, 0.0)
        committed.append(done_seen())
    assert committed == [0, 2, 2]
    monkeypatch.setattr(column_layout, "BATCH_SECONDS", 0.0)   # old at once
    res.write(t[3], {"n_sites": 9}, 0.0)
    assert done_seen() == 4
    res.close()


def test_task_table_reads_columns_whole(tmp_path, monkeypatch):
    """task_table of a columnar file reads each column once (no per-task reads)."""
    from simglass.analysis.load import task_table
    from simglass.column_layout import ColumnTasks
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    run_job(parse_job(SMALL), output=str(tmp_path / "c.h5"), progress=False)

    def no_records(self, indices):
        raise AssertionError("task_table read records one by one")
    monkeypatch.setattr(ColumnTasks, "records", no_records)
    monkeypatch.setattr(ColumnTasks, "record", no_records)
    assert len(task_table(tmp_path / "c.h5")) == 6


@pytest.mark.parametrize("layout", ["columns", "groups"])
def test_bad_layout_name_and_reader_of_each(tmp_path, layout):
    from simglass.jobfile import parse_job
    from simglass.results import ResultsFile
    with pytest.raises(ValueError, match="layout"):
        ResultsFile(tmp_path / "x.h5", parse_job(SMALL), layout="rows")
    res = ResultsFile(tmp_path / "y.h5", parse_job(SMALL), layout=layout)
    res.close()
    with stored(tmp_path / "y.h5") as (_, st):
        assert st.n_tasks == 6 and not st.status.any() and st.columns() == {}
