"""Bad input is refused before anything runs, by kind (issue 17): non-finite numbers in
every float key of the job file and of every engine's options, and the same in the
Python API."""

import math

import numpy as np
import pytest

from simglass.engines import ENGINES, get_engine
from simglass.jobfile import MODEL_OPTIONS, parse_job
from simglass.options import InputError

BASE = {"disorder": "", "mc": "", "thermal": "", "hartree": "t = 1.0\n", "ed": "t = 1.0\n", "stiffness": "t = 1.0\n",
        "saddle": "t = 1.0\ndensity = 0.3\n"}


def _job(engine, model="", options="", L="[2, 2, 2]"):
    lat = "" if engine == "saddle" else f"L = {L}\n"
    dens = "" if engine == "saddle" or "density" in model else "density = 0.5\n"
    return (f'engine = "{engine}"\n[model]\n{lat}{dens}{BASE[engine]}{model}\n[options]\n{options}\n')


def _float_options():
    for name in ENGINES:
        for key, opt in get_engine(name).OPTIONS.items():
            if opt.kind is float:
                yield name, key


@pytest.mark.parametrize("bad", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("engine,key", list(_float_options()))
def test_engine_float_options_must_be_finite(engine, key, bad):
    with pytest.raises(InputError, match=rf"options\.{key} = .*finite"):
        parse_job(_job(engine, options=f"{key} = {bad}"))


@pytest.mark.parametrize("bad", ["inf", "nan"])
@pytest.mark.parametrize("key", [k for k, o in MODEL_OPTIONS.items() if o.kind is float])
def test_model_float_keys_must_be_finite(key, bad):
    model = f"{key} = {bad}\n" if key != "t" else f"t = {bad}\n"
    text = _job("disorder", model=model).replace("t = 0.0\n", "")
    if key == "density":
        text = text.replace("density = 0.5\n", "")
    with pytest.raises(InputError, match=rf"model\.{key} = .*(finite|allowed)"):
        parse_job(text)
    # and in a scan
    scan = text.replace(f"{key} = {bad}\n", "") + f"[scan]\n{key} = [1.0, {bad}]\n"
    if key == "density":
        scan = scan.replace("[1.0, ", "[0.5, ")
    with pytest.raises(InputError, match=rf"scan\.{key} = .*(finite|allowed)"):
        parse_job(scan)


def test_every_float_option_is_finite_unless_declared():
    """No engine option silently accepts inf: the opt-out must be explicit."""
    for engine, key in _float_options():
        assert get_engine(engine).OPTIONS[key].finite, (engine, key)


def test_python_api_refuses_non_finite_numbers():
    from simglass import ed
    from simglass import mc
    from simglass import Lattice, Model, sample_disorder
    lat = Lattice((2, 2, 2))
    d = sample_disorder(lat, J=1.0, W=0.5, seed=1)
    m0 = Model(lat, 0.0, d.V, d.eps, density=0.5)
    m1 = Model(lat, 1.0, d.V, d.eps, density=0.5)
    calls = [
        lambda x: sample_disorder(lat, J=x, seed=1),
        lambda x: sample_disorder(lat, J=1.0, W=x, seed=1),
        lambda x: Model(lat, x, d.V, d.eps, density=0.5),
        lambda x: Model(lat, 1.0, d.V, d.eps, density=x),
        lambda x: mc.ground_state(m0, seed=1, T_max=x, sweeps=4, replicas=2),
        lambda x: mc.ground_state(m0, seed=1, T_min=x, sweeps=4, replicas=2),
        lambda x: mc.anneal_schedule(x, 0.1, 10),
        lambda x: mc.metropolis(m0, np.random.default_rng(0), x, 2),
        lambda x: ed.hartree_solve(m1, tol=x),
        lambda x: ed.hartree_solve(m1, smearing=x),
        lambda x: ed.exact_ground_state(m1, max_memory_gb=x),
        lambda x: ed.exact_ground_state(m1, tol=x),
        lambda x: ed.exact.density_response(m1, step=x),
    ]
    for k, call in enumerate(calls):
        for x in (math.inf, math.nan):
            with pytest.raises(ValueError, match="finite|> 0|>= 0|in \\("):
                call(x)


def test_particle_number_rounds_halves_up():
    """One rule, N_f = ⌊nN + ½⌋ (docs/conventions.md): odd-N series at n = ½ stay on one
    side of ½ (Python's round() gives 2, 2, 4, 4 for N = 3, 5, 7, 9)."""
    from simglass import Lattice, Model, particle_number
    assert [particle_number(0.5, N) for N in (3, 5, 7, 9)] == [2, 3, 4, 5]
    assert [particle_number(0.25, N) for N in (2, 6, 10)] == [1, 2, 3]      # nN = k + ½ exactly
    assert particle_number(0.1, 35) == 4 and particle_number(0.3, 10) == 3  # 3.5 and 3.0000000000000004
    assert all(abs(particle_number(n, N) - n * N) <= 0.5 for n in np.linspace(0.01, 0.99, 37)
               for N in (7, 27, 64, 125))
    lat = Lattice((5,))
    m = Model(lat, 1.0, np.zeros((5, 5)), np.zeros(5), density=0.5)
    assert m.n_particles == 3


def test_tasks_store_their_particle_number(tmp_path):
    from conftest import run_cli
    job = tmp_path / "j.toml"
    job.write_text('engine = "mc"\nrealizations = 1\n[model]\nL = [5]\ndensity = 0.5\n'
                   '[options]\nsweeps = 4\nreplicas = 2\nrestarts = 1\n')
    assert run_cli("run", job, "--output", tmp_path / "j.h5", "--quiet").returncode == 0
    from conftest import task_datasets
    assert task_datasets(tmp_path / "j.h5")["p0000_r00000"]["n_particles"] == 3


@pytest.mark.parametrize("engine,L,what", [
    ("mc", "[200000]", "GiB"),
    ("hartree", "[60, 60, 60]", "GiB"),
    ("disorder", "[100, 100, 100]", "GiB"),
    ("mc", "[1]", "0 < N_f < N"),
    ("hartree", "[1]", "0 < N_f < N"),
    ("ed", "[4, 4, 4]", "at most 30 sites"),
])
def test_sizes_that_cannot_run_are_refused_with_figures(engine, L, what):
    with pytest.raises(InputError, match=what) as e:
        parse_job(_job(engine, L=L))
    if what == "GiB":
        assert "this machine" in str(e.value)


def test_too_many_tasks_refused_without_building_them():
    with pytest.raises(InputError, match="tasks: at most"):  # a hang when the list was built first
        parse_job("realizations = 1000000000\n" + _job("disorder"))


def test_bad_sizes_exit_2_on_the_command_line(tmp_path):
    from conftest import run_cli
    job = tmp_path / "big.toml"
    job.write_text(_job("hartree", L="[60, 60, 60]"))
    r = run_cli("run", job, "--output", tmp_path / "big.h5", "--quiet")
    assert r.returncode == 2 and "GiB" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "big.h5").exists()


def _int_and_str_keys():
    from simglass.jobfile import TOP_OPTIONS
    for key, opt in TOP_OPTIONS.items():
        if opt.kind in (int, str):
            yield "top", key, opt.kind
    for key, opt in MODEL_OPTIONS.items():
        if opt.kind in (int, str):
            yield "model", key, opt.kind
    for name in ENGINES:
        for key, opt in get_engine(name).OPTIONS.items():
            if opt.kind in (int, str):
                yield name, key, opt.kind


@pytest.mark.parametrize("table,key,kind", list(_int_and_str_keys()))
def test_unstorable_values_are_refused_naming_the_key(table, key, kind):
    """Every integer key refuses 2**64 (HDF5 and numpy store 64 bits) and every string
    key a NUL character, before anything runs, naming the key."""
    bad = "18446744073709551616" if kind is int else '"a\\u0000b"'
    many = MODEL_OPTIONS[key].many if table == "model" else (
        table != "top" and get_engine(table).OPTIONS[key].many)
    value = f"[{bad}]" if many and key != "L" else bad
    engine = "mc" if table in ("top", "model") else table
    if table == "top":
        text = _job(engine).replace("[model]", f"{key} = {value}\n[model]", 1)
        if key == "engine":
            pytest.skip("engine: checked against the registry's names")
    elif table == "model":
        text = _job(engine, L="[2, 2, 2]" if key != "L" else value, model="" if key == "L" else f"{key} = {value}\n")
    else:
        text = _job(engine, options=f"{key} = {value}\n")
    with pytest.raises(InputError, match=rf"{key} = .*(64 bits|NUL)"):
        parse_job(text)


def test_unstorable_seed_exits_2_before_running(tmp_path):
    from conftest import run_cli
    job = tmp_path / "seed.toml"
    job.write_text('engine = "mc"\nseed = 18446744073709551616\n[model]\nL = [8]\n')
    r = run_cli("run", job, "--output", tmp_path / "s.h5")
    assert r.returncode == 2 and "seed" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s.h5").exists()


def test_integer_too_large_for_a_float_key():
    with pytest.raises(InputError, match=r"model\.J = .*too large"):
        parse_job(_job("disorder", model="J = " + "1" + "0" * 400 + "\n"))
