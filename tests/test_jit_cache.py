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
