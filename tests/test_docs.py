"""The documentation (issue 20): the site builds without warnings, its options tables
hold every engine option (generated from the declarations), the docstring examples run,
and no command-line help names a file that users do not have."""

import doctest
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simglass.engines import ENGINES, describe, get_engine, options_markdown

ROOT = Path(__file__).resolve().parents[1]
DOCTEST_MODULES = ["simglass.lattice", "simglass.model", "ed.hartree", "ed.exact", "mc.ground_state",
                   "analysis.load"]


def test_site_builds_without_warnings(tmp_path):
    sphinx = shutil.which("sphinx-build", path=str(Path(sys.executable).parent))
    if sphinx is None:
        pytest.skip("sphinx is not installed (pip install -e '.[test]')")
    r = subprocess.run([sphinx, "-W", "--keep-going", "-q", "-b", "html", "docs", str(tmp_path / "html")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    for page in ["index", "install", "conventions", "jobs", "api", "validation", "_generated/engines",
                 "tutorials/first_job", "tutorials/python_analysis", "tutorials/mpi_and_slurm",
                 "tutorials/validation_report"]:
        assert (tmp_path / "html" / f"{page}.html").exists(), page
    api = (tmp_path / "html" / "api.html").read_text()
    assert "hartree_solve" in api and "exact_ground_state" in api and "task_table" in api


def test_every_engine_option_is_in_the_generated_tables():
    md = options_markdown()
    for name in ENGINES:
        assert f"## `{name}`" in md
        section = md.split(f"## `{name}`")[1].split("\n## ")[0]
        for key in get_engine(name).OPTIONS:
            assert f"| `{key}` |" in section, (name, key)
    assert {e["name"] for e in describe()} == set(ENGINES)


def test_engines_command_lists_every_option():
    from conftest import run_cli
    r = run_cli("engines")
    assert r.returncode == 0, r.stderr
    for name in ENGINES:
        assert r.stdout.count(f"{name}  (") == 1
        for key in get_engine(name).OPTIONS:
            assert f"    {key} " in r.stdout, (name, key)


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
        r = subprocess.run([sys.executable, "-m", f"analysis.{mod}", "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        yield f"analysis.{mod}", r.stdout


def test_help_texts_name_no_file_users_do_not_have():
    for who, text in _help_texts():
        assert text.strip(), who
        for private in ("DESIGN.md", "PHYSICS.md", "STYLE.md", "../shared"):
            assert private not in text, (who, private)


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
