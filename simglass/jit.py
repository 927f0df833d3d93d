"""``njit`` with numba's on-disk cache made safe (issue 17): a damaged cache never crashes
a run, and a cached function never runs code older than the sources it was built from.

numba's own cache (``cache=True``) has two failure modes that users of numba codes
report:

* a truncated or otherwise unreadable ``__pycache__/*.nbi`` / ``*.nbc`` (a full disk, a
  killed process, two versions sharing a directory) raises ``UnpicklingError`` or
  ``EOFError`` on every later call, until the files are deleted;
* the cache key holds the function's own bytecode and its file's time stamp, not the
  functions it calls in other files (numba documents this limitation), so a change in a
  callee can leave a caller running the old code.

Here the cache treats an entry it cannot read or write as a miss (the function is
compiled again and the entry rewritten, with one warning), runs without a cache where
numba has no directory to write one (a read-only install: one warning), and adds to the key a hash
of every ``.py`` file of the function's package (``simglass.ed`` for a function of
``simglass.ed.fock``, ``simglass`` for one of ``simglass.lattice``), so that any change in
the package's sources invalidates its cached machine code.  Use exactly as numba's::

    from simglass.jit import njit

    @njit(cache=True, parallel=True)
    def kernel(x): ...
"""

from __future__ import annotations

import functools
import hashlib
import sys
import warnings
from pathlib import Path

import numba
from numba.core.caching import FunctionCache

__all__ = ["njit", "package_source_hash"]


@functools.lru_cache(maxsize=None)
def package_source_hash(package: str) -> str:
    """sha256 over the paths and contents of every .py file of the package ``package``
    (and its subpackages; '' for a module outside any package: its own file)."""
    mod = sys.modules.get(package)
    if mod is None or getattr(mod, "__file__", None) is None:
        return ""
    root = Path(mod.__file__).resolve()
    files = sorted(root.parent.rglob("*.py")) if root.name == "__init__.py" else [root]
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def cache_package(module: str) -> str:
    """The package whose sources key a function's cache: the first two levels of its
    module's name (simglass.ed.fock -> simglass.ed), the top level for a module directly
    in it (simglass.lattice -> simglass)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


class SafeFunctionCache(FunctionCache):
    """numba's FunctionCache: unreadable entries are misses, keys include the package sources."""

    def _package(self) -> str:
        return cache_package(getattr(self._py_func, "__module__", "") or "")

    def _index_key(self, sig, codegen):
        return super()._index_key(sig, codegen) + (package_source_hash(self._package()),)

    def _warn(self, what, err):
        warnings.warn(f"numba cache of {self._py_func.__qualname__} could not be {what} "
                      f"({type(err).__name__}: {err}); compiling it again", RuntimeWarning, stacklevel=3)

    def _reset_index(self):
        try:
            Path(self._cache_file._index_path).unlink(missing_ok=True)
        except OSError:
            pass

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as err:  # damaged entry: a miss, and the damaged index is dropped
            self._warn("read", err)
            self._reset_index()
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as err:  # e.g. an index that cannot be unpickled: start it afresh
            self._reset_index()
            try:
                super().save_overload(sig, data)
            except Exception:
                self._warn("written", err)


@functools.lru_cache(maxsize=None)
def _warn_no_cache(package: str):
    warnings.warn(f"numba cannot cache the compiled kernels of {package!r} (a read-only install and no "
                  "writable cache directory): they are compiled in every run. Set NUMBA_CACHE_DIR to a "
                  "writable directory to cache them", RuntimeWarning, stacklevel=4)


def njit(*args, cache: bool = False, **kwargs):
    """numba.njit; with ``cache=True`` the cache is :class:`SafeFunctionCache`, or none
    (one warning per package) where numba finds no directory it can write, as in a
    read-only install without a writable NUMBA_CACHE_DIR or user cache directory."""
    def wrap(func):
        dispatcher = numba.njit(**kwargs)(func)
        if cache:
            try:
                dispatcher._cache = SafeFunctionCache(dispatcher.py_func)
            except RuntimeError:   # numba: "cannot cache function ...: no locator available"
                _warn_no_cache(cache_package(func.__module__ or ""))
        return dispatcher
    if args and callable(args[0]) and len(args) == 1:
        return wrap(args[0])
    if args:
        raise TypeError("simglass.jit.njit takes keyword options only (cache=..., parallel=...)")
    return wrap
