"""The README's tutorial code runs as written."""
import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def _block(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert found, f"README has no python block containing {marker!r}"
    return found[0]


def test_hand_built_network_block_runs():
    ns: dict = {}
    exec(compile(_block("W_rec ="), "README", "exec"), ns)
    assert ns["result"].probes["exc"]["v"].shape == (8, 500, 400)
    assert ns["result"].counters["synops"].shape == (8,)


def test_pytorch_to_energy_report_block_runs():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    ns: dict = {}
    exec(compile(_block("nc.convert(net"), "README", "exec"), ns)
    assert ns["report"].energy_per_inference_J > 0


def test_on_chip_learning_block_runs():
    ns: dict = {}
    exec(compile(_block("nc.LearningRule(dw="), "README", "exec"), ns)
    assert ns["result"].weights["syn"].shape == (8, 4, 20)
    assert ns["report"].breakdown_J["learning"] > 0
    assert ns["test"].counters["learning_updates"].sum() == 0


def test_design_space_exploration_block_runs(tmp_path, monkeypatch):
    for mod in ("sklearn", "pandas", "pymoo", "matplotlib"):
        pytest.importorskip(mod)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(_block("nc.dse.sweep("), "README", "exec"), ns)
    assert len(ns["table"]) == 12 and set(ns["table"]["status"]) == {"ok"}
    assert (tmp_path / "runs" / "front3.png").is_file() and (tmp_path / "runs" / "front.json").is_file()
    assert len(ns["found"].history) == 12 and ns["found"].n_evaluated <= 12


def test_files_and_trust_block_runs(capsys):
    ns: dict = {}
    exec(compile(_block("a bad edit"), "README", "exec"), ns)
    assert "program field 'row_delay'" in capsys.readouterr().out


def test_partition_search_block_runs(capsys):
    ns: dict = {}
    exec(compile(_block("8,000 LIF, p = 0.01"), "README", "exec"), ns)
    prog = ns["program"]
    assert prog.n_cores_used <= prog.chip.n_cores
    assert f"lower bound {prog.meta['mapping']['core_bound']}" in capsys.readouterr().out


def test_dense_baselines_block_runs():
    ns: dict = {}
    exec(compile(_block("nc.energy.baselines.evaluate"), "README", "exec"), ns)
    assert ns["streaming"].energy_per_inference_J == pytest.approx(3 * 3e-6 * 267, rel=1e-12)
    assert ns["offline"].energy_per_inference_J == pytest.approx(3 * 3e-6 * 267 / 540, rel=1e-12)


def test_energy_options_block_runs():
    ns: dict = {}
    exec(compile(_block('static in ("chips_used", "core_fraction", "none")'), "README", "exec"), ns)
    assert ns["sanafe"].static_model == "not modelled"
    assert ns["packed"].meta["replicas"]["k"] > 1


def test_pruning_block_runs():
    pytest.importorskip("sklearn")
    ns: dict = {}
    exec(compile(_block("nc.prune(snn"), "README", "exec"), ns)
    rep = ns["report"]
    assert rep.removed_fraction > 0 and rep.accuracy_before - rep.accuracy_after <= 0.005 + 1e-12
    assert ns["half"].projections["hidden_1.weight"].n_synapses < ns["snn"].projections["hidden_1.weight"].n_synapses
