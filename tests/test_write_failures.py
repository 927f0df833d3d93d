"""A write that fails must not cost the tasks already written (the batches written before
it, in batches of 4 tasks here) (docs/jobs.md "Running
safely"): disk full, a file-size limit (standing in for an I/O error: the file cannot be
flushed again) and an error injected at the write call, serially and under mpiexec.
Each stops with one line and exit code 1; resuming recomputes only the tasks that were
not stored, and the resumed file equals an uninterrupted run."""
import resource
import signal
import subprocess

import h5py
import pytest

from conftest import BIN, assert_same_results, count_done, run_cli, simglass_cmd, simglass_cmd_batches_of, task_datasets

JOB = """
engine = "mc"
seed = 1
realizations = 30
[model]
L = [6, 6]
[scan]
J = [1.0, 2.0]
[options]
sweeps = 8
replicas = 2
restarts = 1
"""
N_TASKS = 60


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted `simglass run` of JOB, once for the module: the file a resumed run
    must equal."""
    d = tmp_path_factory.mktemp("reference")
    p = d / "job.toml"
    p.write_text(JOB)
    ref = run_cli("run", p, "--output", d / "ref.h5", "--quiet")   # also compiles the kernels
    assert ref.returncode == 0, ref.stderr
    return d / "ref.h5"


@pytest.fixture
def job(tmp_path, reference):
    p = tmp_path / "job.toml"
    p.write_text(JOB)
    return p


def _one_line_failure(r, cause):
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and cause in lines[0], r.stderr
    assert "rerun the same command" in lines[0] or "nothing was stored" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def _resume_equals_reference(job, out, reference, launcher=()):
    n_kept = count_done(out)
    assert 0 < n_kept < N_TASKS
    r = subprocess.run([*launcher, *simglass_cmd("run", job, "--output", out, "--quiet")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{N_TASKS - n_kept} tasks done, {n_kept} already done" in r.stdout
    assert_same_results(out, reference)
    assert not out.with_name(out.name + ".reserve").exists()


def _limit_file_size(nbytes):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.RLIM_INFINITY))
    return pre


def test_file_size_limit_then_resume_salvages(job, tmp_path, reference):
    """The limit stays while the writer flushes again, so the file is left damaged: the
    next run salvages the completed tasks and computes the others."""
    out = tmp_path / "limited.h5"
    r = subprocess.run(simglass_cmd_batches_of(4, "run", job, "--output", out, "--quiet"), capture_output=True,
                       text=True, timeout=300, preexec_fn=_limit_file_size(200_000))
    _one_line_failure(r, "File too large (errno 27)")
    info = run_cli("info", out)
    assert info.returncode == 0, info.stderr
    _resume_equals_reference(job, out, reference)


@pytest.fixture
def small_fs(tmp_path):
    """A 300 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    d = tmp_path / "small"
    d.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(d)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


@pytest.mark.parametrize("ranks, servers", [(0, ()), (3, ()), (7, ("--servers", "2"))])
def test_disk_full_then_resume(job, small_fs, ranks, servers, reference):
    """Serially, under mpiexec, and with task servers (simglass.runner.serving_ranks)."""
    launcher = [str(BIN / "mpiexec"), "-n", str(ranks)] if ranks else []
    out = small_fs / "full.h5"
    r = subprocess.run([*launcher, *simglass_cmd_batches_of(4, "run", job, "--output", out, "--quiet", *servers)],
                       capture_output=True, text=True, timeout=300)
    _one_line_failure(r, "No space left on device (errno 28)")
    stored = task_datasets(out)   # consistent as it stands: every stored task reads back
    assert stored and all(d["@status"] == "done" for d in stored.values())
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_fs)], check=True)
    _resume_equals_reference(job, out, reference, launcher)
    assert not (small_fs / "full.h5.damaged").exists()


def test_injected_write_error_in_process(job, tmp_path, monkeypatch, reference):
    """An I/O error raised by h5py at the flush of a batch: WriteFailed naming the batch's
    tasks and the cause, the batches before it kept, the file readable, and the run
    resumable."""
    from simglass import column_layout, results
    from simglass.jobfile import load_job
    from simglass.runner import run_job
    monkeypatch.setattr(column_layout, "BATCH_TASKS", 4)
    monkeypatch.setattr(column_layout, "BATCH_SECONDS", 1e9)
    calls = {"n": 0}
    flush = h5py.File.flush

    def failing_flush(self):
        calls["n"] += 1
        if calls["n"] == 8:   # the fourth batch's rows (the first flush is the new file's, two per batch)
            raise RuntimeError("Unable to flush file (file write failed: errno = 5, "
                               "error message = 'Input/output error')")
        flush(self)
    monkeypatch.setattr(h5py.File, "flush", failing_flush)
    out = tmp_path / "eio.h5"
    with pytest.raises(results.WriteFailed,
                       match=r"tasks p0000_r00006 \.\. p0001_r00007 \(4 in one batch\) .*Input/output error \(errno 5\)"):
        run_job(load_job(job), output=str(out), progress=False)
    monkeypatch.setattr(h5py.File, "flush", flush)
    assert count_done(out) == 12
    _resume_equals_reference(job, out, reference)


def test_disk_full_before_the_first_task(job, small_fs):
    (small_fs / "fill").write_bytes(b"\0" * (300 * 1024 - 4096))
    fill = small_fs / "fill"
    while True:   # fill the last blocks too
        try:
            with open(fill, "ab") as fh:
                fh.write(b"\0" * 1024)
        except OSError:
            break
    out = small_fs / "new.h5"
    r = run_cli("run", job, "--output", out, "--quiet")
    _one_line_failure(r, "No space left on device (errno 28)")
    assert "nothing was stored" in r.stderr and not out.exists()


# --- derived outputs: tables, figures and reports (analysis.files) ---------------------

def test_atomic_output_keeps_the_old_file_and_leaves_no_part(tmp_path):
    """A write that fails (here: the body raises, and a file that cannot be created)
    leaves the previous file intact and no temporary file behind."""
    from simglass.analysis.files import write_text, written
    from simglass.results import WriteFailed
    target = tmp_path / "table.csv"
    write_text(target, "old\n")
    with pytest.raises(ZeroDivisionError):
        with written(target) as fh:
            fh.write("half")
            1 / 0
    assert target.read_text() == "old\n"
    with pytest.raises(WriteFailed, match="cannot write .*nodir/x.csv"):
        write_text(tmp_path / "nodir" / "x.csv", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


CHAIN_JOB = JOB.replace("L = [6, 6]", "L = [64]").replace("realizations = 30", "realizations = 6")   # compact: chains


@pytest.fixture(scope="module")
def chain_results(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    job = d / "chain.toml"
    job.write_text(CHAIN_JOB)
    assert run_cli("run", job, "--output", d / "ref.h5", "--quiet").returncode == 0
    return job, d / "ref.h5"


@pytest.mark.parametrize("command", ["analyze", "compact"])
def test_outputs_on_a_full_disk_fail_in_one_line(tmp_path, command, chain_results):
    """Every command that writes derived outputs: a file-size limit (EFBIG, as a full
    disk or quota gives ENOSPC / EDQUOT) stops it with one line and exit status 1, and
    every file it leaves is complete (written whole or not at all)."""
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    job, results = chain_results
    out = tmp_path / "out"
    out.mkdir()
    if command == "analyze":
        cmd = simglass_cmd("analyze", results, "--out", out)
    else:
        cmd = [sys.executable, "-m", "simglass.analysis.compact", str(results), "--job", str(job), "--out",
               str(out / "table.csv")]
    full = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=root)
    assert full.returncode == 0, full.stderr
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    limit = max(sizes.values()) // 2
    assert limit > 0
    for p in out.iterdir():
        p.unlink()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=root,
                       preexec_fn=_limit_file_size(limit))
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "cannot write" in lines[0] and "File too large (errno 27)" in lines[0], r.stderr
    for p in out.iterdir():
        assert not p.name.endswith(".part"), p
        assert p.stat().st_size == sizes[p.name], p      # complete, as in the unlimited run
