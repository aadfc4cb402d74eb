"""The demo network against every dense baseline, in both regimes (batch 1 and the run's batch).

    python examples/dense_baselines.py

Trains the `neurocore demo` MLP (64-128-64-10 on scikit-learn's digits), runs the 540 test
images for 32 steps on loihi(), and prints the chip's total and dynamic energy per inference
against gpu-h100 (kernel model), gpu-h100-roofline, dense-45nm and the measured cpu-demo-mlp
profile, each at batch 1 (streaming) and at batch 540 (throughput).
"""
import neurocore as nc
from neurocore.batching import run_batched
from neurocore.demo import digits_split, train_digits_mlp
from neurocore.report import format_si

BASELINES = ["gpu-h100", "gpu-h100-roofline", "dense-45nm", "cpu-demo-mlp"]

Xtr, Xte, ytr, yte = digits_split(0)
chip = nc.chip.loihi()
graph = nc.convert(train_digits_mlp(Xtr, ytr), calibration=Xtr[:500], chip=chip, encoding="direct")
result = run_batched(nc.Simulator(nc.compile(graph, chip)), Xte, 32, desc="simulating")
report = nc.energy.estimate(result, chip="loihi", baseline=BASELINES)
dynamic = sum(t.energy_J for t in report.terms if t.kind != "static")
print(f"chip 'loihi': {report.energy_per_inference_J * 1e6:.2f} uJ per inference, "
      f"dynamic {dynamic * 1e6:.3f} uJ (accuracy {100 * result.accuracy(yte):.2f} %)")
print(f"{'baseline':<20}{'regime':<12}{'batch':>6}{'energy':>12}{'dynamic':>12}{'time/inf':>12}"
      f"{'chip/total':>12}{'chip/dyn':>12}")


def fmt(x, unit):
    return "-" if x is None else format_si(x, unit)


for c in report.baselines:
    b = c.baseline
    ratio = "-" if c.ratio is None else f"{c.ratio:.3g}"
    dyn = "-" if c.dynamic_ratio is None else f"{c.dynamic_ratio:.3g}"
    print(f"{c.profile:<20}{c.regime:<12}{b.batch_size:>6}{fmt(b.energy_per_inference_J, 'J'):>12}"
          f"{fmt(b.dynamic_energy_per_inference_J, 'J'):>12}{fmt(b.time_per_inference_s, 's'):>12}{ratio:>12}{dyn:>12}")
