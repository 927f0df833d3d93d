"""``simglass validate`` end to end on the tiny profile tests/data/validate_tiny (about a
minute), the report files, the report's numbers against ``simglass analyze``, figures
with data, the HTML rendered in headless Chromium, and broken results files."""

import csv
import json
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from simglass.cli import main as cli

TINY = Path(__file__).parent / "data" / "validate_tiny"
ROLES = ["disorder", "coulomb_gap", "sk_energy", "anderson", "localization", "ed", "stiffness", "saddle",
         "low_density", "cavity_modes", "cavity_gaussian"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    assert cli(["validate", "--jobs", str(TINY), "--out", str(out), "--quiet"]) == 0
    return out


def _colour_fraction(png):
    import matplotlib.image as mpimg
    img = mpimg.imread(png)[..., :3]
    sat = img.max(axis=-1) - img.min(axis=-1)
    return float((sat > 0.25).mean())


def test_every_file_is_written(report):
    for name in ["report.html", "report.md", "summary.json"]:
        assert (report / name).stat().st_size > 0
    for role in ROLES:
        assert (report / f"{role}.h5").exists()
    s = json.loads((report / "summary.json").read_text())
    assert len(s["rows"]) == 23   # 21 + the two rows of Fig. 2 (checks.phase_diagram_rows)
    from analysis.checks import KINDS, VERDICTS
    assert {r["verdict"] for r in s["rows"]} <= set(VERDICTS)
    for r in s["rows"]:
        assert r["kind"] in KINDS
        if r["value"] is not None:  # every judged row splits its error and names the systematic source
            assert r["error_stat"] is not None and r["error_sys"] is not None, r["key"]
            assert r["error"] == pytest.approx(np.hypot(r["error_stat"], r["error_sys"])), r["key"]
            assert r["sys_source"], r["key"]
    kinds = {r["key"]: r["kind"] for r in s["rows"]}
    assert kinds["jc_loc_ed"] == "indicator" and kinds["w_j"] == "estimate" and kinds["sum_rule"] == "identity"
    keys = [r["key"] for r in s["rows"]]
    assert len(set(keys)) == len(keys)
    # rows of checks without an engine say so, with the reason
    for r in s["rows"]:
        if r["verdict"] == "not run":
            assert r["note"]
    # Exact check: the sum rule of the free bubble
    row = next(r for r in s["rows"] if r["key"] == "sum_rule")
    assert row["verdict"] == "agrees" and abs(row["value"] - row["theory"]) < 1e-6 * row["theory"]
    figs = s["figures"]
    assert len(figs) == 15, figs
    for f in figs:
        assert (report / f).exists()


def test_figures_contain_data(report):
    s = json.loads((report / "summary.json").read_text())
    for f in s["figures"]:
        assert _colour_fraction(report / f) > 2e-3, f"{f} looks empty"


def test_html_is_self_contained(report):
    html = (report / "report.html").read_text()
    srcs = [x.split("'")[0] for x in html.split("src='")[1:]]
    assert srcs and all(x.startswith("data:image/png;base64,") for x in srcs)
    assert "<table>" in html and "Eq. 14" in html


def test_report_numbers_equal_analyze(report, tmp_path):
    s = {r["key"]: r for r in json.loads((report / "summary.json").read_text())["rows"]}
    assert cli(["analyze", str(report / "coulomb_gap.h5"), "--out", str(tmp_path / "cg")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "cg" / "alpha.csv")))
    big = max(rows, key=lambda r: int(r["N"]))
    assert s["alpha"]["value"] == pytest.approx(float(big["alpha"]), rel=1e-5)
    assert s["alpha"]["error"] == pytest.approx(float(big["alpha_err"]), rel=1e-2)
    assert cli(["analyze", str(report / "sk_energy.h5"), "--out", str(tmp_path / "sk")]) == 0
    from analysis.sk_energy import extrapolate
    sk = [(int(r[0]), int(r[1]), float(r[2]), float(r[3]), float(r[4]))
          for r in csv.reader(list(open(tmp_path / "sk" / "sk_energy.csv"))[1:])]
    sk = [r for r in sk if not r[4] < 0.5]     # sizes whose lowest state repeats (analysis.sk_energy)
    assert s["sk_energy"]["value"] == pytest.approx(extrapolate(sk)[0], rel=1e-12)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_report_renders_in_chromium(report, tmp_path):
    png = tmp_path / "report.png"
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1300,6000",
           (report / "report.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert png.exists()
    # the figures' coloured lines are on the page (tall enough for the figures): count the
    # saturated pixels, not their fraction, which the page height would dilute
    import matplotlib.image as mpimg
    img = mpimg.imread(png)[..., :3]
    assert ((img.max(axis=-1) - img.min(axis=-1)) > 0.25).sum() > 10_000


def test_leftover_results_of_other_jobs_are_ignored(report, tmp_path, capsys):
    """OUT holds results and figures of an earlier run with other jobs; this run's jobs
    are only `disorder`: no row and no figure comes from the leftovers."""
    out = tmp_path / "v"
    out.mkdir()
    shutil.copy(report / "coulomb_gap.h5", out / "coulomb_gap.h5")
    shutil.copytree(report / "coulomb_gap", out / "coulomb_gap")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    shutil.copy(TINY / "disorder.toml", jobs / "disorder.toml")
    capsys.readouterr()
    assert cli(["validate", "--jobs", str(jobs), "--out", str(out), "--quiet"]) == 0
    assert "ignoring" in capsys.readouterr().out
    rows = {r["key"]: r for r in json.loads((out / "summary.json").read_text())["rows"]}
    assert rows["alpha"]["verdict"] == "not run"
    assert "coulomb_gap.png" not in (out / "report.md").read_text()


def test_bad_results_files(tmp_path, capsys):
    src = tmp_path / "ok.h5"
    bad_version = tmp_path / "v.h5"
    no_tasks = tmp_path / "t.h5"
    assert cli(["run", str(TINY / "disorder.toml"), "--output", str(src), "--quiet"]) == 0
    shutil.copy(src, bad_version)
    with h5py.File(bad_version, "r+") as f:
        f.attrs["format"] = "simglass-results-0"
    shutil.copy(src, no_tasks)
    with h5py.File(no_tasks, "r+") as f:
        del f["rows"]
    capsys.readouterr()
    assert cli(["analyze", str(bad_version)]) == 2
    assert "format 'simglass-results-0'" in capsys.readouterr().err
    assert cli(["analyze", str(no_tasks)]) == 2
    assert "no 'rows' group" in capsys.readouterr().err
    assert cli(["validate", "--jobs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "v")]) == 2
    assert "not a directory" in capsys.readouterr().err
    np.testing.assert_equal(src.exists(), True)
