"""One busy BLAS thread pool at a time, or none.

A pip install of numpy and scipy loads two OpenBLAS libraries, numpy's and scipy's
(which numba's ``np.dot`` and ARPACK also use), each with a pool of one thread per core.
OpenBLAS threads spin for a while after each call, so when a solver alternates between
the two libraries (numpy's ``eigh`` and products, scipy's Cholesky or ARPACK) each call
of one waits for the other's spinning threads to give up their cores: measured on a
2-core machine, a numpy product followed by a scipy Cholesky of a 256 × 256 matrix takes
12.6 ms with two threads per pool against 1.5 ms with one (``benchmarks/hartree.py``
shows the whole solver).  ``numpy_blas_only`` runs a block with every BLAS pool but
numpy's limited to one thread; the heavy work (eigh, dense products) stays threaded.
With a single BLAS library (conda's MKL or OpenBLAS for both) it does nothing.

``blas_one_thread`` limits every BLAS pool, numpy's included, for code whose heavy work
is numba's threaded kernels and whose BLAS calls are small (the Lanczos of ``ed``): the
spinning BLAS threads otherwise take cores from numba's threads after each call
(``benchmarks/ed_scaling.py``).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

__all__ = ["numpy_blas_only", "blas_one_thread"]


@functools.lru_cache(maxsize=1)
def _foreign_pools():
    """The threadpoolctl controller of the BLAS libraries other than numpy's (None when
    there is one library, or numpy's cannot be told apart)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:                     # pragma: no cover - a dependency
        return None
    import numpy  # noqa: F401  (its BLAS loaded)
    import scipy.linalg  # noqa: F401  (and scipy's, before the controller looks)
    blas = ThreadpoolController().select(user_api="blas")
    paths = [lib.filepath for lib in blas.lib_controllers]
    ours = [p for p in paths if "numpy" in p]
    if len(paths) < 2 or len(ours) != 1:
        return None
    return blas.select(filepath=[p for p in paths if p not in ours])


@functools.lru_cache(maxsize=1)
def _all_pools():
    """The threadpoolctl controller of every loaded BLAS library (None without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:                     # pragma: no cover - a dependency
        return None
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    return ThreadpoolController().select(user_api="blas")


@contextmanager
def blas_one_thread():
    """Within the block every BLAS library runs on one thread (module docstring).
    Re-entrant."""
    pools = _all_pools()
    if pools is None:
        yield
        return
    with pools.limit(limits=1):
        yield


@contextmanager
def numpy_blas_only():
    """Within the block, BLAS libraries other than numpy's run on one thread (module
    docstring); numpy's keeps its threads. Re-entrant."""
    pools = _foreign_pools()
    if pools is None:
        yield
        return
    with pools.limit(limits=1):
        yield
