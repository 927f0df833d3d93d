"""The documentation (issue 20): the site builds without warnings, its options tables
hold every engine option (generated from the declarations), the docstring examples run,
and no command-line help names a file that users do not have."""

import doctest
import re
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simglass.engines import ENGINES, describe, get_engine, options_markdown

ROOT = Path(__file__).resolve().parents[1]
DOCTEST_MODULES = ["simglass.lattice", "simglass.model", "simglass.ed.hartree", "simglass.ed.hartree_thermal", "simglass.ed.exact",
                   "simglass.mc.ground_state", "simglass.analysis.load"]


def test_site_builds_without_warnings(tmp_path):
    sphinx = shutil.which("sphinx-build", path=str(Path(sys.executable).parent))
    if sphinx is None:
        pytest.skip("sphinx is not installed (pip install -e '.[test]')")
    r = subprocess.run([sphinx, "-W", "--keep-going", "-q", "-b", "html", "docs", str(tmp_path / "html")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    for page in ["index", "install", "conventions", "jobs", "api", "validation", "_generated/engines", "design",
                 "tutorials/first_job", "tutorials/python_analysis", "tutorials/mpi_and_slurm", "tutorials/own_couplings",
                 "tutorials/validation_report", "writing_an_engine"]:
        assert (tmp_path / "html" / f"{page}.html").exists(), page
    api = (tmp_path / "html" / "api.html").read_text()
    assert "hartree_solve" in api and "exact_ground_state" in api and "task_table" in api
    # the docstring escaping (docs/conf.py) leaves no backslash in what a reader sees,
    # doctest and literal blocks included (it showed "[6] \* 27")
    for page in ["api", "_generated/engines"]:
        text = re.sub(r"<[^>]+>", "", re.sub(r"<script.*?</script>", "", (tmp_path / "html" / f"{page}.html").read_text(),
                                             flags=re.S))
        stray = re.findall(r".{30}\\[*|_].{10}", text)
        assert not stray, (page, stray[:3])
    # formulas render without a network: MathJax is served from the site itself
    assert (tmp_path / "html" / "_static" / "mathjax" / "tex-chtml.js").exists()
    conventions = (tmp_path / "html" / "conventions.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in conventions and "cdn.jsdelivr" not in conventions


def test_every_engine_option_is_in_the_generated_tables():
    md = options_markdown()
    for name in ENGINES:
        assert f"\n## `{name}`\n" in md
        section = md.split(f"\n## `{name}`\n")[1].split("\n## ")[0]
        for key in get_engine(name).OPTIONS:
            assert f"| `{key}` |" in section, (name, key)
    assert {e["name"] for e in describe()} == set(ENGINES)


# per engine a tiny job (model, options) that switches on every optional entry of its record
FULL_RECORD = {
    "disorder": ("L = [3, 3]\ndensity = 0.5", "n_configs = 2"),
    "mc": ("L = [8]\ndensity = 0.5", 'method = "pt"\nsweeps = 4\nreplicas = 2\nrestarts = 2\noverlap_every = 1\n'
           "modes = 2"),
    "thermal": ("L = [8]\ndensity = 0.5", "sweeps = 32\nreplicas = 3\nq_bins = 8\nphi_bins = 8"),
    "hartree": ("L = [4, 4]\nt = 1.0\ndensity = 0.5", 'starts = ["uniform"]\nT = 0.1'),   # T > 0: free_energy, ...
    "ed": ("L = [2, 3]\nt = 1.0\ndensity = 0.5", 'hartree_starts = ["uniform"]\nchi = true\ndos = true\n'
           "dos_points = 5"),
    "stiffness": ("L = [2, 3]\nt = 1.0\ndensity = 0.5", 'hartree_starts = ["uniform"]'),
    "saddle": ("t = 1.0\ndensity = 0.3", "n_q = 4\nn_k = 4\nn_omega = 8\nresponse = true\ntemperatures = [0.5]\n"
               "glass = [1.5]\nomega0 = [2.0]"),
}
_KIND = {"float": "f", "int": "iu", "bool": "b"}


@pytest.fixture
def one_numba_thread():
    """Tiny models in one thread: numba's parallel loops on a loaded machine cost more in
    waiting than they save."""
    import numba
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_stored_dataset_is_documented(name, monkeypatch, one_numba_thread):
    """Each engine's record (run on a tiny job with every optional entry switched on) is
    exactly what its OUTPUTS declares (the engines page and `simglass engines NAME` are
    printed from it), with the declared number of axes and type."""
    import numpy as np

    from simglass.engines import outputs
    from simglass.jobfile import parse_job
    from simglass.tasks import run_task
    assert set(FULL_RECORD) == set(ENGINES)
    if name == "saddle":   # the T > 0 tables cost 20 s; this test checks names and shapes, not numbers
        from simglass.meanfield import saddle
        table = saddle.bubble_table_infinite
        monkeypatch.setattr(saddle, "bubble_table_infinite", lambda *a, T=0.0, **k: table(*a, **k))
    model, options = FULL_RECORD[name]
    job = parse_job(f'engine = "{name}"\nseed = 1\n[model]\n{model}\n[options]\n{options}\n')
    record = run_task(job, job.tasks()[0])
    declared = outputs(name)
    assert set(record) - set(declared) == set(), f"{name} stores datasets its OUTPUTS does not declare"
    assert set(declared) - set(record) == set(), f"{name}: OUTPUTS declares datasets the tiny job did not store"
    for key, out in declared.items():
        value = record[key]
        if out.kind == "str":
            assert isinstance(value, str), (name, key)
            continue
        a = np.asarray(value)
        assert a.ndim == out.ndim, (name, key, out.shape, a.shape)
        assert a.dtype.kind in _KIND[out.kind], (name, key, out.kind, a.dtype)


def test_every_stored_dataset_is_on_the_engines_page():
    from simglass.analysis.load import columns
    from simglass.engines import outputs
    md = options_markdown()
    for name in ENGINES:
        record = md.split(f"### `{name}` record (per task)")[1].split("\n## ")[0]
        cols = columns(name)
        for key, out in outputs(name).items():
            assert f"| `{key}` | {out.shape} |" in record, (name, key)
            if out.column:      # an array named like a model parameter (density) leaves its column
                assert cols[key].startswith(out.meaning), (name, key)


def test_task_table_columns_are_documented(tmp_path):
    """Every column task_table gives for a results file is explained by columns()."""
    from simglass.analysis.load import columns, task_table
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    job = parse_job('engine = "mc"\nrealizations = 2\n[model]\nL = [8]\ndensity = 0.5\n[scan]\nJ = [1.0]\n'
                    "[options]\nsweeps = 4\nreplicas = 2\n")
    run_job(job, output=str(tmp_path / "r.h5"), progress=False)
    df = task_table(tmp_path / "r.h5")
    assert len(df) == 2 and set(df.columns) == set(columns("mc"))


def test_engines_command_lists_every_option():
    from conftest import run_cli
    r = run_cli("engines")
    assert r.returncode == 0, r.stderr
    for name in ENGINES:
        assert r.stdout.count(f"{name}  (") == 1
        for key in get_engine(name).OPTIONS:
            assert f"    {key} " in r.stdout, (name, key)
    r = run_cli("engines", "hartree")
    assert r.returncode == 0 and "record per task" in r.stdout, r.stderr
    from simglass.engines import outputs
    for key, out in outputs("hartree").items():
        assert f"{'*' if out.column else ' '} {key} " in r.stdout, key


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0, res


def _help_texts():
    from conftest import run_cli
    yield "simglass", run_cli("--help").stdout
    for sub in ("run", "info", "analyze", "validate", "engines"):
        yield f"simglass {sub}", run_cli(sub, "--help").stdout
    for mod in ("localization", "coulomb_gap", "sk_energy", "stiffness", "ed_hartree", "phase_boundary",
                "compact", "saddle_grid"):
        r = subprocess.run([sys.executable, "-m", f"simglass.analysis.{mod}", "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        yield f"simglass.analysis.{mod}", r.stdout


def test_help_texts_name_no_file_users_do_not_have():
    pages = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts and "_build" not in p.parts}
    for who, text in _help_texts():
        assert text.strip(), who
        for name in re.findall(r"\b(?:docs/[\w./-]+|[A-Z_]+)\.md\b", text):   # every cited page exists here
            assert Path(name).name in pages, (who, name)
        assert "../" not in text, (who, "a path outside the repository")
        assert "``" not in text and ":func:`" not in text, (who, "reStructuredText markup in the terminal")


def test_engines_command_prints_no_rst_markup():
    from conftest import run_cli
    r = run_cli("engines", *ENGINES)
    assert r.returncode == 0 and "``" not in r.stdout, r.stdout


def test_job_file_template_parses_as_pasted():
    """docs/jobs.md opens with a job-file template: pasted as it stands, it is a valid job
    (with its [options] table empty)."""
    import textwrap

    from simglass.jobfile import parse_job
    lines = (ROOT / "docs" / "jobs.md").read_text().split("# Job files", 1)[1].splitlines()[1:]
    block = []
    for line in lines:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    job = parse_job(textwrap.dedent("\n".join(block)))
    assert job.engine == "mc" and job.scan == {"J": [0.5, 1.0]}


def _first_job():
    return (ROOT / "docs" / "tutorials" / "first_job.md").read_text()


def test_first_tutorial_explains_every_column_of_alpha_csv():
    import re

    from simglass.analysis.coulomb_gap import ALPHA_CSV_COLUMNS
    section = _first_job().split("### The table `alpha.csv`")[1].split("\n#")[0]
    named = {name for line in section.splitlines() if line.startswith("* `")
             for name in re.findall(r"`(\w+)`", line.split(":")[0])}
    assert named == set(ALPHA_CSV_COLUMNS)


def test_first_tutorial_job_runs_and_says_why_small_sizes_have_no_fit(tmp_path, capsys):
    """The tutorial's job file as pasted parses; at the small sizes it names, reduced to a
    few sweeps, the analysis prints the sentence the tutorial quotes (and draws it)."""
    import re

    from simglass.analysis import coulomb_gap
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    text = _first_job()
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    job = parse_job(block)
    assert job.engine == "mc" and job.scan == {"L": [[256], [384], [512], [1024]]} and job.realizations == 16
    small = block
    for key, value in (("L", "[[64], [128]]"), ("realizations", "2"), ("sweeps", "10")):
        small, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", small)
        assert n == 1, key
    run_job(parse_job(small), output=str(tmp_path / "gap.h5"), progress=False)
    assert coulomb_gap.main([str(tmp_path / "gap.h5"), "--out", str(tmp_path / "gap")]) == 0
    quoted = re.search(r"\n    (no alpha\|phi\| \+ b\|phi\|\^3 fit .*)\n", text).group(1)
    assert quoted in capsys.readouterr().out
    assert (tmp_path / "gap" / "coulomb_gap.png").exists() and (tmp_path / "gap" / "alpha.csv").exists()
