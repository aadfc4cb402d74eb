"""Every ```python block of README.md runs as written, and prints what the README says it prints.

Each block runs in a fresh namespace in a temporary directory (the NIR block writes files),
with its optional dependencies skipped when missing and the BLAS / torch thread pools held at
one thread (the CI machine has two cores). Blocks that the README follows with a "prints"
table are checked against that table, so a stale table fails here.
"""
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)

#: A marker in a block -> the optional module it needs.
NEEDS = {"import torch": "torch", "sklearn": "sklearn", "neurocore.demo": "sklearn", "import nir": "nir",
         "neurocore.nir": "nir"}


def _block_id(block: str) -> str:
    for marker, name in (("W_rec =", "hand-built"), ("nc.convert(net", "pytorch"), ("weight_bits=bits", "sweep"),
                         ("save_nir", "nir"), ("nc.energy.baselines.evaluate", "dense-baselines"),
                         ("8,000 LIF, p = 0.01", "partition-search"), ('backend="reference"', "backends"),
                         ("nc.StopRule.calibrate(program", "anytime")):
        if marker in block:
            return name
    return block.strip().splitlines()[0][:40]


def _table_after(block: str) -> str:
    """The first plain ``` block after ``block`` in the README: the output the README shows for it."""
    rest = README[README.index(block) + len(block) + len("```"):]  # past the block's closing fence
    return re.search(r"```\n(.*?)```", rest, re.DOTALL).group(1)


@contextlib.contextmanager
def _one_thread():
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(1))
        except ImportError:
            pass
        try:
            import torch
        except ImportError:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _check_hand_built(ns, out):
    assert ns["result"].probes["exc"]["v"].shape == (8, 500, 400)
    assert ns["result"].counters["synops"].shape == (8,)


def _check_pytorch(ns, out):
    acc = ns["result"].accuracy(ns["y"][1000:])
    claimed = re.search(r"print\(result.accuracy\(y\[1000:\]\)\)\s+# prints ([0-9.]+)", _block("nc.convert(net"))
    assert claimed, "the README's PyTorch block should say what accuracy it prints"
    assert f"{acc:.4f}" == claimed.group(1), (acc, claimed.group(1))
    assert acc > 0.9 and ns["report"].energy_per_inference_J > 0


def _check_sweep(ns, out):
    assert len(ns["rows"]) == 12
    table = _table_after(_block("weight_bits=bits"))
    assert out.strip() == table.strip(), ("the README's sweep table is stale; replace it with what the block "
                                          f"prints:\n{out}")


def _check_nir(ns, out):
    import neurocore as nc

    rng = np.random.default_rng(1)
    x = (rng.random((2, 30, 20)) < 0.2).astype(np.int32)
    r1 = nc.Simulator(nc.compile(ns["g"])).run(x, 30)
    r2 = nc.Simulator(nc.compile(ns["g2"])).run(x, 30)
    for k in r1.counters:
        np.testing.assert_array_equal(r1.counters[k], r2.counters[k])
    assert ns["g3"].nodes["lif"].n == 10 and "10 neurons" in out


def _check_dense_baselines(ns, out):
    assert ns["streaming"].energy_per_inference_J == pytest.approx(3 * 3e-6 * 267, rel=1e-12)
    assert ns["offline"].energy_per_inference_J == pytest.approx(3 * 3e-6 * 267 / 540, rel=1e-12)


def _check_partition_search(ns, out):
    prog = ns["program"]
    assert prog.n_cores_used <= prog.chip.n_cores
    assert f"lower bound {prog.mapping.core_bound}" in out


def _check_backends(ns, out):
    fast, slow = ns["fast"], ns["slow"]
    assert out.strip() == "reference True"
    assert fast.counters["spikes"].sum() > 0
    assert set(fast.core_totals) == set(slow.core_totals) and fast.core_totals
    for k in fast.core_totals:
        np.testing.assert_array_equal(fast.core_totals[k], slow.core_totals[k])
    assert set(fast.chip_time) == set(slow.chip_time)
    for k in fast.chip_time:
        np.testing.assert_array_equal(fast.chip_time[k], slow.chip_time[k])
    np.testing.assert_array_equal(fast.final_state["v"], slow.final_state["v"])


def _check_anytime(ns, out):
    stopped = ns["stopped"]
    assert stopped.steps.mean() < 32 and stopped.steps.max() <= 32
    assert ns["e"].energy_per_inference_J < ns["fixed_e"]
    assert {r.kind for r in ns["curve"].rows} == {"fixed", "stop"}
    assert any(t.kind == "stop_check" and t.status == "unpublished" for t in ns["e"].terms)


CHECKS = {"anytime": _check_anytime, "backends": _check_backends, "partition-search": _check_partition_search, "hand-built": _check_hand_built, "pytorch": _check_pytorch, "sweep": _check_sweep, "nir": _check_nir,
          "dense-baselines": _check_dense_baselines}


def _block(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert found, f"README has no python block containing {marker!r}"
    return found[0]


def test_the_readme_has_the_blocks_it_documents():
    assert {_block_id(b) for b in BLOCKS} >= set(CHECKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[_block_id(b) for b in BLOCKS])
def test_every_python_block_runs_as_written(block, tmp_path, monkeypatch):
    for marker, module in NEEDS.items():
        if marker in block:
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__readme__"}
    out = io.StringIO()
    with _one_thread(), contextlib.redirect_stdout(out):
        exec(compile(block, f"README.md block '{_block_id(block)}'", "exec"), ns)
    check = CHECKS.get(_block_id(block))
    if check is not None:
        check(ns, out.getvalue())


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
    assert f"lower bound {prog.mapping.core_bound}" in capsys.readouterr().out


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


def test_chip_time_block_runs():
    from neurocore.errors import ChipTimeError

    ns: dict = {}
    exec(compile(_block('record="core_steps"'), "README", "exec"), ns)
    assert set(ns["r"].chip_time) == {ns["nc"].energy.core_timing(ns["mine"]).key}
    assert ns["full"].core_steps and ns["r"].core_steps == {}
    with pytest.raises(ChipTimeError, match="chip_time="):
        ns["nc"].energy.estimate(ns["r"], chip="loihi")  # the run kept only the edited model's sums
