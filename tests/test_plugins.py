"""Engines from other packages (issue 37): the example plugin examples/plugin_engine,
installed into a temporary folder, is found through its entry point, listed by
``simglass engines`` with its origin, passes the engine contract (simglass.contract: run
twice, read back, ``simglass info``), resumes and is analysed; broken plugins (import
error, missing declarations, a built-in's name) give one line naming them and leave
the other engines working."""

import contextlib
import importlib
import io
import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from simglass import engines, plugins
from simglass.cli import main
from simglass.contract import check_engine
from simglass.options import InputError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin_engine"

# broken plugins of a second package: (entry point name, module, module source)
BROKEN = {
    "needs_missing": ("simglass_broken.needs_missing", "import simglass_no_such_module\n"),
    "no_outputs": ("simglass_broken.no_outputs", "OPTIONS = {}\n\ndef run(model, rng):\n    return {}\n"),
    "mc": ("simglass_broken.no_outputs", None),       # the name of a built-in engine
}


def install(target: Path, name: str, version: str, packages: dict, entry_points: dict):
    """Lay a package out in ``target`` as ``pip install --no-deps --target`` does (its
    modules and a .dist-info folder with METADATA and entry_points.txt), so that
    importlib.metadata finds its entry points on sys.path.  (pip itself cannot build here:
    offline, without the ``wheel`` package.)  ``packages``: folder name -> source folder,
    or -> {module: source}."""
    for pkg, src in packages.items():
        if isinstance(src, Path):
            shutil.copytree(src, target / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / pkg).mkdir()
            for mod, code in {"__init__": "", **src}.items():
                (target / pkg / f"{mod}.py").write_text(code)
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in entry_points.items()))


@pytest.fixture
def plugin_env(tmp_path, monkeypatch):
    """The example plugin and the broken ones installed in tmp_path/site, visible to this
    process (sys.path) and to subprocesses (PYTHONPATH); returns the subprocesses' env."""
    site = tmp_path / "site"
    site.mkdir()
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    install(site, meta["name"], meta["version"],
            {p: EXAMPLE / p for p in tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]},
            meta["entry-points"])
    install(site, "simglass-broken", "0.0", {"simglass_broken": {m.rsplit(".", 1)[1]: code for m, code in BROKEN.values() if code}},
            {plugins.ENTRY_POINTS: {k: m for k, (m, _) in BROKEN.items()}})
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    plugins.found.cache_clear()
    yield {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    plugins.found.cache_clear()
    for mod in [m for m in sys.modules if m.split(".")[0] in ("simglass_greedy", "simglass_broken")]:
        del sys.modules[mod]


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def test_example_plugin_is_found_listed_run_resumed_and_analysed(plugin_env, tmp_path):
    assert engines.origin("greedy") == "plugin of package simglass-greedy 0.1"
    # the contract, with the broken plugins installed beside it: run twice, read back, simglass info
    rec = check_engine("greedy", "L = [8]\nJ = 1.0", "max_moves = 100", tmp_path, env=plugin_env)
    assert rec["pair_stable"] and rec["occupation"].sum() == rec["n_particles"] == 4

    code, out, err = cli("engines")
    assert code == 0 and "greedy  (simglass_greedy.greedy_engine, plugin of package simglass-greedy 0.1)" in out
    assert "mc  (simglass.mc.mc_engine, built in)" in out and "max_moves" in out
    lines = err.strip().splitlines()      # one line per broken plugin, each naming it and its package
    assert len(lines) == 3 and all(ln.startswith("simglass: warning: plugin '") and "simglass-broken" in ln
                                   for ln in lines), err
    assert "No module named 'simglass_no_such_module'" in err and "no OUTPUTS" in err
    assert "plugin 'mc'" in err and "name of a built-in engine" in err
    code, out, _ = cli("engines", "greedy")
    assert code == 0 and "record per task" in out and "* pair_stable" in out

    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    results = tmp_path / "greedy_tiny_1.h5"        # written by the contract
    job = parse_job((tmp_path / "greedy_tiny.toml").read_text())
    s = run_job(job, output=str(results), progress=False)
    assert (s.done, s.skipped) == (0, 1)                # resumed: the stored task is kept
    with pytest.raises(InputError, match="classical"):   # its check_point, before anything runs
        parse_job((tmp_path / "greedy_tiny.toml").read_text().replace("J = 1.0", "J = 1.0\nt = 1.0"))

    code, out, _ = cli("analyze", results, "--out", tmp_path / "an")
    assert code == 0 and "energy_per_site_sem" in out and (tmp_path / "an" / "greedy_tiny_1_means.csv").exists()


@pytest.mark.parametrize("name, why", [("needs_missing", "cannot be imported: ModuleNotFoundError"),
                                       ("no_outputs", "no OUTPUTS")])
def test_a_broken_plugin_is_refused_in_one_line(plugin_env, name, why):
    from simglass.jobfile import parse_job
    code, _, err = cli("engines", name)
    assert code == 2 and err.count("\n") == 1 and why in err
    assert f"plugin {name!r} (module simglass_broken.{name} of package simglass-broken 0.0)" in err
    with pytest.raises(InputError, match=why):
        parse_job(f'engine = "{name}"\n[model]\nL = [4]\n')
    assert engines.get_engine("mc").__name__ == "simglass.mc.mc_engine"     # the built-in keeps its name


def test_the_plugin_version_is_recorded_shown_and_a_resume_by_another_warns(plugin_env, tmp_path):
    """The results file records the package and version of a plugin engine, `simglass
    info` shows them; a resume by another version of the package runs, with one warning
    line, and the file keeps the version it was created with (as for simglass's own)."""
    import h5py
    import json
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    job = parse_job('engine = "greedy"\nrealizations = 2\n[model]\nL = [8]\ndensity = 0.5\n[options]\nmax_moves = 50\n')
    out = tmp_path / "g.h5"
    run_job(job, output=str(out), progress=False)
    want = {"name": "simglass-greedy", "version": "0.1", "module": "simglass_greedy.greedy_engine"}
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["engine_package"]) == want
    code, text, _ = cli("info", out)
    assert code == 0 and "engine package: simglass-greedy 0.1 (module simglass_greedy.greedy_engine)" in text

    site = tmp_path / "site"                     # simglass-greedy 0.1 -> 0.2
    (site / "simglass_greedy-0.1.dist-info").rename(site / "simglass_greedy-0.2.dist-info")
    meta = site / "simglass_greedy-0.2.dist-info" / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 0.1", "Version: 0.2"))
    importlib.invalidate_caches()
    plugins.found.cache_clear()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        s = run_job(job, output=str(out), progress=False)
    assert s.skipped == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simglass: warning: output") and \
        "engine 'greedy' of package simglass-greedy 0.1 and is resumed with 0.2" in lines[0], err.getvalue()
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["engine_package"])["version"] == "0.1"
    with contextlib.redirect_stderr(err := io.StringIO()):     # a built-in engine records no package
        run_job(parse_job('engine = "disorder"\n[model]\nL = [3]\n'), output=str(tmp_path / "d.h5"), progress=False)
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert "engine_package" not in f.attrs and not err.getvalue()
