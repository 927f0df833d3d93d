"""This package's engine against simglass's engine contract (simglass.contract); run
with pytest after installing the package."""

from simglass.contract import check_engine


def test_greedy_meets_the_engine_contract(tmp_path):
    rec = check_engine("greedy", "L = [8]", "max_moves = 100", tmp_path)
    assert rec["pair_stable"] and rec["occupation"].sum() == rec["n_particles"]
