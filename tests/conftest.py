import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = Path(sys.executable).parent


def simglass_cmd(*args):
    return [str(BIN / "simglass"), *map(str, args)]


def run_cli(*args, cwd=None, **kw):
    env = dict(os.environ)
    return subprocess.run(simglass_cmd(*args), cwd=cwd, capture_output=True, text=True, env=env, **kw)


def task_datasets(path):
    """{task: {dataset path: value}} of a results file, for equality checks."""
    out = {}
    with h5py.File(path, "r") as f:
        for name, g in f["tasks"].items():
            d = {}
            g.visititems(lambda k, v: d.__setitem__(k, v[()]) if isinstance(v, h5py.Dataset) else None)
            d["@status"] = g.attrs["status"]
            d["@params"] = g.attrs["params"]
            out[name] = d
    return out


def assert_same_results(a, b):
    da, db = task_datasets(a), task_datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert sorted(da[name]) == sorted(db[name]), name
        for k in da[name]:
            assert np.array_equal(da[name][k], db[name][k]), (name, k)


@pytest.fixture
def cli():
    return run_cli
