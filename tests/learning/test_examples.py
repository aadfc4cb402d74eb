"""The learning demonstrations in examples/ run (tiny sizes; the README's figures come from full runs)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent.parent / "examples"))


def test_stdp_song2000_runs():
    import stdp_song2000 as demo

    res = demo.run_neurocore(n_inputs=300, seconds=2, rate_hz=25.0, seed=0, chunk=1000)
    assert res["w"].shape == (300,) and not np.array_equal(res["w"], res["w0"])
    assert 0 <= demo.bimodality(res["w"], 255)["low (<10%)"] <= 1


def test_reward_two_choice_runs():
    import reward_two_choice as demo

    res = demo.run(agents=2, trials=6, seed=0)
    assert res["correct"].shape == (6, 2) and res["learning_J_per_agent"] > 0
