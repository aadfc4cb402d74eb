"""Reward-modulated learning (three-factor R-STDP) on a two-choice task with delayed reward.

Each trial shows one of two cues (a group of 10 Poisson inputs firing at 60 Hz) for 40 steps to
two action neurons that inhibit each other. The action neuron that fires more has "chosen". The
reward arrives only after the decision, 20 steps after the cue is gone: +R to both action
neurons for a correct choice (cue 0 -> action 0, cue 1 -> action 1), -R for a wrong one. The
synapses cue -> action learn by Lava's R-STDP rule (``nc.learning.rstdp``): pairings write an
eligibility trace (tag ``t``) that decays by ``t/16`` per epoch, and the weight follows
``dw = u0 * t * y2`` where ``y2`` is the reward — so only the pairings that led to the choice,
still remembered when the reward comes, are reinforced or weakened.

A batch of independent agents (each its own weights and noise) learns at once; each trial is
two runs chained with ``initial_state=`` (cue phase, then delay and reward phase, whose reward
depends on the decision just read out).

Usage::

    python examples/reward_two_choice.py [--agents 8] [--trials 300] [--png curve.png]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import neurocore as nc

N_CUE, CUE_STEPS, DELAY, REWARD_STEPS, GAP = 10, 40, 20, 2, 16
RATE = 0.06       # cue input spike probability per step (60 Hz at 1 ms)
REWARD = 1        # reward value (third factor, y2) per reward step


def build(seed: int = 0):
    g = nc.Graph()
    cue = g.input(2 * N_CUE, name="cue")
    reward = g.input(2, graded=True, name="reward")
    act = g.population(2, nc.CubaLIF(du=1024, dv=512, vth=120), name="action")
    rule = nc.learning.rstdp(learning_rate=1, A_plus=1, A_minus=-1, pre_trace_decay_tau=10,
                             post_trace_decay_tau=10, pre_trace_kernel_magnitude=20,
                             post_trace_kernel_magnitude=20, eligibility_trace_decay_tau=1 / 16, t_epoch=1,
                             mode="chip", rng_seed=seed, name="rstdp")
    w0 = np.random.default_rng(seed).integers(40, 81, (2, 2 * N_CUE))  # a little asymmetry breaks ties
    g.connect(cue, act, weights=w0, learning=rule, name="cue->action")
    g.connect(act, act, weights=np.array([[0, -120], [-120, 0]]), name="inhibition")
    g.connect(reward, act, weights=nc.one_to_one(2), delay=0, reward=True, name="dopamine")
    return g


def run(agents: int, trials: int, seed: int = 0, learning: bool = True) -> dict:
    sim = nc.Simulator(nc.compile(build(seed), nc.chip.loihi()))
    rng = np.random.default_rng(seed)
    state, correct, choice_none, learn_J = None, np.zeros((trials, agents), bool), 0, 0.0
    for k in range(trials):
        cue = rng.integers(0, 2, agents)
        x = np.zeros((agents, CUE_STEPS, 2 * N_CUE + 2), np.int32)
        for b in range(agents):
            x[b, :, cue[b] * N_CUE:(cue[b] + 1) * N_CUE] = rng.random((CUE_STEPS, N_CUE)) < RATE
        r = sim.run(x, n_steps=CUE_STEPS, initial_state=state, probes={"action": ["spikes"]}, learning=learning)
        counts = r.probes["action"]["spikes"].sum(axis=1)          # (agents, 2)
        choice = np.where(counts[:, 0] == counts[:, 1], -1, np.argmax(counts, axis=1))
        choice_none += int((choice < 0).sum())
        ok = choice == cue
        correct[k] = ok
        y = np.zeros((agents, DELAY + REWARD_STEPS + GAP, 2 * N_CUE + 2), np.int32)
        value = np.where(choice < 0, 0, np.where(ok, REWARD, -REWARD))  # no choice (a tie): no reward
        y[:, DELAY:DELAY + REWARD_STEPS, 2 * N_CUE:] = value[:, None, None]
        state = sim.run(y, n_steps=y.shape[1], initial_state=r, learning=learning)
        learn_J += sum(nc.energy.estimate(z, chip="loihi", baseline=None).breakdown_J["learning"] for z in (r, state))
    return {"correct": correct, "undecided": choice_none, "weights": state.weights["cue->action"],
            "learning_J_per_agent": learn_J}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default=None)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = run(a.agents, a.trials, a.seed)
    wall = time.perf_counter() - t0
    acc = res["correct"].mean(axis=1)
    block = 25
    curve = [float(acc[i:i + block].mean()) for i in range(0, a.trials, block)]
    print(f"{a.agents} agents x {a.trials} trials, reward {DELAY} steps after the decision; wall {wall:.1f} s")
    print("accuracy per block of", block, "trials:", " ".join(f"{c:.2f}" for c in curve))
    print(f"undecided (tie) choices: {res['undecided']} of {a.agents * a.trials}")
    w = res["weights"]
    print("mean weight cue0->act0, cue0->act1, cue1->act0, cue1->act1:",
          [round(float(w[:, i, j * N_CUE:(j + 1) * N_CUE].mean()), 1) for j in (0, 1) for i in (0, 1)])
    print(f"learning energy per agent (Loihi, 120 pJ per synaptic update): {res['learning_J_per_agent'] * 1e6:.2f} uJ")
    frozen = run(a.agents, a.trials, a.seed, learning=False)
    print(f"baseline, learning switched off (same agents and cues): accuracy {frozen['correct'].mean():.2f} "
          f"({frozen['undecided']} undecided ties, counted wrong)")
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(np.arange(len(curve)) * block + block / 2, curve, marker="o")
        ax.axhline(0.5, color="gray", lw=0.8, ls="--")
        ax.set(xlabel="trial", ylabel="fraction correct", ylim=(0, 1.02),
               title=f"R-STDP, reward {DELAY} steps after the choice ({a.agents} agents)")
        fig.tight_layout()
        fig.savefig(a.png, dpi=100)
        print("wrote", a.png)


if __name__ == "__main__":
    sys.exit(main())
