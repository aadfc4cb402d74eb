"""TrueNorth demo MLP: accuracy of ternary weights with splitters, ternary with the rules off, 9-bit with the rules off.

Run: ``python bench/truenorth_accuracy.py`` (trains the demo MLP, about 30 s on a quiet machine).
"""
import dataclasses, numpy as np, neurocore as nc
from neurocore.demo import digits_split, train_digits_mlp
Xtr, Xte, ytr, yte = digits_split(0)
mlp = train_digits_mlp(Xtr, ytr, seed=0)
tn = nc.chip.truenorth()
free = dataclasses.replace(tn, name="tn-free", axon_types=0, single_target=False)
g_t = nc.convert(mlp, calibration=Xtr[:500], chip=tn, encoding="rate")      # ternary weights
g_f = nc.convert(mlp, calibration=Xtr[:500], chip=free, encoding="rate")    # 9-bit weights
for label, g, chip in (("ternary+splitters", g_t, tn), ("ternary, rules off", g_t, free), ("9-bit, rules off", g_f, free)):
    p = nc.compile(g, chip)
    sim = nc.Simulator(p)
    print(label, p.n_cores_used, {T: round(100 * sim.run(Xte, T).accuracy(yte), 2) for T in (16, 32)}, flush=True)
