"""numba's on-disk cache made safe (simglass.jit, issue 17): a truncated or garbage cache
file is a cache miss, not a crash, and a change in a callee's file reaches a cached
caller (numba alone keys the cache on the caller's own file)."""

import subprocess
import sys
import textwrap

import pytest

CALLEE = "from simglass.jit import njit\n\n\n@njit(cache=True)\ndef g(x):\n    return x + {add}\n"
CALLER = textwrap.dedent("""
    from simglass.jit import njit
    from .b import g


    @njit(cache=True)
    def f(x):
        return 2 * g(x)
""")


def _package(tmp_path, add=1):
    pkg = tmp_path / "jitpkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(CALLER)
    (pkg / "b.py").write_text(CALLEE.format(add=add))
    return pkg


def _call(tmp_path):
    r = subprocess.run([sys.executable, "-W", "always", "-c", "from jitpkg.a import f; print(f(1.0))"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    return r


@pytest.mark.parametrize("damage", ["truncate_data", "garbage_index", "empty_data"])
def test_damaged_cache_is_recompiled(tmp_path, damage):
    pkg = _package(tmp_path)
    r = _call(tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "4.0", r.stderr
    cache = pkg / "__pycache__"
    data = sorted(cache.glob("a.f-*.nbc"))
    index = sorted(cache.glob("a.f-*.nbi"))
    assert data and index
    if damage == "truncate_data":
        b = data[0].read_bytes()
        data[0].write_bytes(b[: len(b) // 2])
    elif damage == "empty_data":
        data[0].write_bytes(b"")
    else:
        index[0].write_bytes(b"\x80\x04garbage")
    r = _call(tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "4.0"
    assert "Traceback" not in r.stderr
    r = _call(tmp_path)  # and the rewritten entry loads cleanly
    assert r.returncode == 0 and r.stdout.strip() == "4.0" and "could not be" not in r.stderr, r.stderr


def test_change_in_a_callee_reaches_the_cached_caller(tmp_path):
    _package(tmp_path, add=1)
    assert _call(tmp_path).stdout.strip() == "4.0"
    _package(tmp_path, add=5)   # only b.py changes: f's own file and bytecode are the same
    r = _call(tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "12.0"


RUN_TINY = """
import sys
from simglass.cli import main
sys.exit(main(["run", sys.argv[1], "--output", sys.argv[2], "--quiet"]))
"""
TINY_MC = 'engine = "mc"\nseed = 1\n[model]\nL = [8]\n[options]\nsweeps = 4\nreplicas = 2\nrestarts = 1\n'


def _run_without_cache(tmp_path, env, cwd, prelude=""):
    job = tmp_path / "tiny.toml"
    job.write_text(TINY_MC)
    return subprocess.run([sys.executable, "-c", prelude + RUN_TINY, str(job), str(tmp_path / "t.h5")],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_no_writable_cache_location_runs_with_one_warning(tmp_path):
    """numba finds no directory to write its cache (simulated: no cache locator): the run
    goes on, with one warning per package instead of 'no locator available'."""
    import os
    prelude = "import numba.core.caching as c\nc.CacheImpl._locator_classes = []\n"
    r = _run_without_cache(tmp_path, dict(os.environ), tmp_path, prelude)
    assert r.returncode == 0, r.stderr
    assert "no locator available" not in r.stderr
    assert r.stderr.count("numba cannot cache the compiled kernels of 'simglass.mc'") == 1, r.stderr


def test_read_only_install(tmp_path):
    """A real read-only install (a read-only bind mount of a copy of the sources, HOME
    and the cache directory unwritable): the run goes on (root only; skipped otherwise)."""
    import os
    import shutil
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    for pkg in ("simglass",):
        shutil.copytree(root / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(ro)], capture_output=True).returncode:
        pytest.skip("cannot make a read-only bind mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True, capture_output=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
        env.update(PYTHONPATH=str(ro), HOME=str(ro), XDG_CACHE_HOME=str(ro / "cache"))
        r = _run_without_cache(tmp_path, env, tmp_path)
        assert r.returncode == 0, r.stderr
        assert "no locator available" not in r.stderr and "Traceback" not in r.stderr
        assert "numba cannot cache the compiled kernels of 'simglass.mc'" in r.stderr, r.stderr
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)
