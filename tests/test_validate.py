"""``simglass validate`` end to end on the tiny profile tests/data/validate_tiny (about a
minute), the report files, the report's numbers against ``simglass analyze``, figures
with data, the HTML rendered in headless Chromium, and broken results files."""

import csv
import json
import re
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


# What the report computes without the jobs' results files: rows from the committed
# tables under data/ or in process (simglass.analysis.validate.table_rows) and the grid saddle
# point's figure data (simglass.analysis.validate.saddle_figure).  Functions of their arguments
# only, so both `validate` runs of this module (report, and the leftovers test) get the
# same values: each is computed once, and later calls get a copy.
JOB_INDEPENDENT = [("simglass.analysis.checks", name) for name in
                   ("production", "phase_diagram_rows", "thermal_rows", "sum_rule", "sum_rule_infinite")] + \
                  [("simglass.analysis.saddle_grid", "d_omega")]


@pytest.fixture(scope="module")
def job_independent_once():
    import copy
    import importlib
    memo = {}

    def once(f):
        def call(*args, **kwargs):
            key = (f.__module__, f.__name__, repr(args), repr(sorted(kwargs.items())))
            if key not in memo:
                memo[key] = f(*args, **kwargs)
            return copy.deepcopy(memo[key])
        return call
    with pytest.MonkeyPatch.context() as mp:
        for module, name in JOB_INDEPENDENT:
            m = importlib.import_module(module)
            mp.setattr(m, name, once(getattr(m, name)))
        yield memo


@pytest.fixture(scope="module")
def report(tmp_path_factory, job_independent_once):
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
    assert len(s["rows"]) == 28   # 21 + the three rows of Fig. 2 (checks.phase_diagram_rows) + four thermal rows
    from simglass.analysis.checks import KINDS, VERDICTS
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
    from simglass.analysis.sk_energy import extrapolate
    sk = [(int(r[0]), int(r[1]), float(r[2]), float(r[3]), float(r[4]))
          for r in csv.reader(list(open(tmp_path / "sk" / "sk_energy.csv"))[1:])]
    sk = [r for r in sk if not r[4] < 0.5]     # sizes whose lowest state repeats (analysis.sk_energy)
    assert s["sk_energy"]["value"] == pytest.approx(extrapolate(sk)[0], rel=1e-12)



# --- the summary table of docs/validation.md against the report ---------------------------

VALIDATION_MD = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
NUM = r"[−+-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?"
# Each row of the summary table, by its link text: the report row (summary.json key) it
# reports, or None where the number is not a report row (the reason beside it), and the
# report numbers it prints, as templates that must appear in the row: {field} is a
# number that must equal the report's at the precision printed.  Rows with templates
# are computed by `simglass validate` from the committed tables under data/ (or in
# process), so the test's tiny run gives the production numbers; the other rows come
# from the validation jobs, and only their report row's existence is checked.
SUMMARY_ROWS = {
    "Coulomb-gap slope α, N → ∞, t = 0 (§1a)": (
        "alpha_production", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| {theory} (Eq. 14) |",
                             "| {deviation}σ;"]),
    "SK ground-state energy e∞ = (E − C)/(NJ) (§2a)": (
        "sk_energy_production", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| {theory} (Parisi) |",
                                 "| {deviation}σ;", "N = {size_first}–{size_last} fitted"]),
    "Anderson W_c/t at J = 0, box disorder (§3a)": (
        "anderson_wc_production", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| {theory} (Eq. 17) |",
                                   "| {deviation}σ;", "L = {size_first}/{size_last} crossing"]),
    "(J/t)_c,loc, n = ½, W̃ = Jn axis, L → ∞ (§4d)": (
        "jc_loc_production", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| ≈ {theory} (Eq. 18) |",
                              "(ratio {ratio}, {deviation}σ)", "the L = {size_first}/{size_last} crossing, {largest} ± {largest_err}"]),
    "(J/t)_c,loc, n = ½, W̃ = 0 axis (§4d)": (
        "metallic_glass_half", ["β({size_first} → {size_last}) above the glass onset: {value} ± {error} at "
                                "J/t = {at_J}"]),
    "(J/t)_c,loc, n = ½, W̃ = 0 axis, states at the Fermi level, L → ∞ (§4d)": (
        "jc_loc_fermi_level_w0", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| ≈ {theory} (Eq. 18) |",
                                  "(ratio {ratio}, {deviation}σ)"]),
    "Exponent b of (J/t)_c,loc ∝ n^b (§4b)": (
        "low_density_production", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| {theory} (Eq. 19) |",
                                   "| {deviation}σ ", "χ²/dof {chi2}:"]),
    "J_c,met(n)/t, saddle point, infinite lattice (§6)": (None, "the saddle job's table (§6), not a report row"),
    "Low-density exponent of J_c,met (§6)": (
        "met_glass_exponent", ["| {value} ± {error} ({error_stat}, {error_sys}), n = "]),   # the committed table
    "Exponent of D(0) − D(Ω) at J_c (§6)": (
        "sqrt_omega", ["| {value} ± {error} ({error_stat}, {error_sys}), n = 0.3", "| {theory} (Eq. 47) |"]),
    # from the committed fold table
    "Free-fermion sum rule, infinite lattice (§6)": (
        "sum_rule_infinite", ["| {value} ± {error} ({error_stat}, {error_sys}) |", "| {theory} (Eq. 41) |",
                              "identity, {deviation}σ |"]),
    "ED − Hartree energy (E0 − E_H)/(Nt), J/t = 4, 20 sites (§5)": (None, "the ED job of §5, not a report row"),
    "ED glass susceptibility of the 2×2×2 cluster, J/t (§11)": (
        "eq42_cluster", ["| {value} ± {error} ({error_stat}, {error_sys}) |",
                         "| {theory} (saddle point's J²χ_SG = 1, Eqs. 38–43) |", "| {deviation}σ:"]),
    "ED stiffness drop to 1/10 of free, 2×2×4, J/t (§7)": ("jc_loc_ed", []),
    "Cavity modes: E/(NJ) for M/N → ∞, N = 1024 (§10)": ("cavity_energy_limit", []),
    "W_J = 1/P(φ = ±t) of the Hartree fields (§9)": ("w_j", []),
    "Hartree-shift variance ⟨h_i²⟩/J² (§9)": ("hartree_shift", []),
    "SK energy above T_c, thermal Monte Carlo, N → ∞ (§12)": (
        "sk_paramagnet_energy", ["| {value} ± {error} ({error_stat}, {error_sys}) at", "= {theory} |",
                                 "| {deviation}σ;"]),
    "SK T_c from Binder crossings (§12)": ("sk_tc_binder", ["| {value} ± {error} ({error_stat}, {error_sys}), N = ",
                                                            "| {deviation}σ;"]),
    "Energy of SK in a random field above T_AT, thermal Monte Carlo, N → ∞ (§12a)": (
        "field_rs_energy", ["| {value} ± {error} ({error_stat}, {error_sys}) at", "= {theory} |",
                            "| {deviation}σ;"]),
    "T_AT of SK in a random field from χ_SG,conn/N^{1/3} (§12a)": (
        "field_t_at", ["| {value} ± {error} (stat; sys unknown), N = "]),
    "Phase diagram, W̃ = 0 axis (§11)": ("n_star_hartree", ["= {value} ± {error}, the bracket ({lo}, {hi})"]),
}
# numbers of a report row beyond its value, errors, theory and deviation: (field, pattern, row entry)
NOTE_NUMBERS = [("ratio", rf"ratio to the estimate ({NUM})", "note"),
                ("largest", rf"largest pair ({NUM}) ±", "note"),
                ("largest_err", rf"largest pair {NUM} ± ({NUM})", "note"),
                ("chi2", rf"power-law fit χ²/dof ({NUM})", "note"),
                ("at_J", rf"largest at J/t = ({NUM})", "note"),
                ("lo", rf"\(({NUM}), {NUM}\)$", "sys_source"),
                ("hi", rf"\({NUM}, ({NUM})\)$", "sys_source")]


def _summary_table():
    """{link text: (row text, verdict cell)} of the summary table of docs/validation.md."""
    text = VALIDATION_MD.read_text().split("\n## Summary\n", 1)[1]
    lines = [x for x in text.lstrip("\n").split("\n\n")[0].splitlines() if x.startswith("| [")]
    rows = {}
    for line in lines:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        label = re.fullmatch(r"\[(.+)\]\(#[\w-]+\)", cells[0]).group(1)
        assert label not in rows, f"two summary rows named {label!r}"
        rows[label] = (line, cells[3])
    return rows


def _report_numbers(r) -> dict:
    f = {k: r[k] for k in ("value", "error", "error_stat", "error_sys", "theory", "deviation") if r[k] is not None}
    for name, pattern, entry in NOTE_NUMBERS:
        m = re.search(pattern, r[entry])
        if m:
            f[name] = float(m.group(1).replace("−", "-"))
    sizes = [int(x) for x in re.findall(r"(\d+)(?:x\d+)*", r["sizes"].split(", n = ")[0])]
    if sizes:
        f["size_first"], f["size_last"] = sizes[0], sizes[-1]
    return f


def _as_printed(text: str, x: float) -> bool:
    """Whether ``x`` rounds to the number ``text`` at the precision it is printed with."""
    m = re.fullmatch(r"[-+]?\d+(?:\.(\d+))?(?:e([-+]?\d+))?", text.replace("−", "-"))
    assert m, text
    place = 10.0 ** (int(m.group(2) or 0) - len(m.group(1) or ""))
    return abs(float(text.replace("−", "-")) - x) <= 0.5 * place * (1 + 1e-9) + 1e-12 * abs(x)


def test_summary_table_of_the_validation_page_equals_the_report(report):
    """docs/validation.md opens with a summary table of the current numbers.  Every row
    names the report row it reports (or why it has none; a renamed or dropped report row
    fails here), and the rows the report computes from the committed tables print the
    report's numbers at the precision shown, with the report's verdict."""
    from simglass.analysis.checks import VERDICTS
    rows = {r["key"]: r for r in json.loads((report / "summary.json").read_text())["rows"]}
    table = _summary_table()
    assert set(table) == set(SUMMARY_ROWS), ("summary rows without an entry in SUMMARY_ROWS (or entries "
                                             "without a row)", set(table) ^ set(SUMMARY_ROWS))
    for label, (key, templates) in SUMMARY_ROWS.items():
        line, verdict = table[label]
        if key is None:
            continue
        assert key in rows, f"summary row {label!r}: no report row {key!r}"
        r = rows[key]
        if not templates:
            continue
        numbers = _report_numbers(r)
        for template in templates:
            parts = re.split(r"\{(\w+)\}", template)
            pattern = "".join(re.escape(p) if i % 2 == 0 else f"({NUM})" for i, p in enumerate(parts))
            m = re.search(pattern, line)
            assert m, f"summary row {label!r} does not print {template!r}"
            for field, printed in zip(parts[1::2], m.groups()):
                assert field in numbers, (f"summary row {label!r} prints {field}, which the report row {key!r} does "
                                          f"not have ({r['verdict']}: {r['note']})")
                assert _as_printed(printed, numbers[field]), \
                    f"summary row {label!r}: {field} printed {printed}, the report has {numbers[field]!r}"
        if verdict in VERDICTS:
            assert verdict == r["verdict"], (label, verdict, r["verdict"])


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


def test_leftover_results_of_other_jobs_are_ignored(report, tmp_path, capsys, job_independent_once):
    """OUT holds results and figures of an earlier run with other jobs; this run's jobs
    are only `disorder`: no row and no figure comes from the leftovers.  (The rows that
    do not depend on the jobs are the report fixture's: job_independent_once.)"""
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
