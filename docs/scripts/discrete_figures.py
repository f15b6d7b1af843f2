"""Regenerate the figures of ``docs/discrete-latents.md`` into ``docs/img/`` (and print their numbers).

Run from anywhere::

    .venv/bin/python docs/scripts/discrete_figures.py            # writes docs/img/discrete-*.png
    .venv/bin/python docs/scripts/discrete_figures.py OUT_DIR    # somewhere else

Both models of the page, on the page's simulated data (the same seeds):

- the change point: 100 Poisson counts whose rate drops from 3 to 1 at
  t = 41, ``tau ~ DiscreteUniform(0, T - 1)`` summed out of the density, NUTS
  on the two rates, and :func:`credo.discrete_marginals` of ``tau``;
- the hidden Markov model: 300 Gaussian observations of a two-state chain
  written with :func:`credo.scan`, NUTS on the transition matrix, means and
  noise, and the smoothed state probabilities.

With ``quick=True`` (the test suite) one short chain, and 100 steps of the HMM.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

IMG_DIR = Path(__file__).resolve().parent.parent / "img"
DPI = 110

#: The simulated data of docs/discrete-latents.md.
T_COUNTS, TRUE_TAU, EARLY, LATE = 100, 41, 3.0, 1.0
T_HMM, A_TRUE, MU_TRUE, SIGMA_TRUE = 300, ((0.95, 0.05), (0.10, 0.90)), (0.0, 2.0), 0.7


def change_point(y):
    """Counts whose rate is ``early`` before ``tau`` and ``late`` from it on."""
    import jax.numpy as jnp

    import credo
    from credo import distributions as dist

    T = len(y)
    early = credo.sample("early", dist.Gamma(2.0, 1.0))
    late = credo.sample("late", dist.Gamma(2.0, 1.0))
    tau = credo.sample("tau", dist.DiscreteUniform(0, T - 1))
    with credo.plate("year", T):
        rate = jnp.where(jnp.arange(T) < tau, early, late)
        credo.sample("y", dist.Poisson(rate), obs=y)


def hmm(y, K=2):
    """A K-state HMM with Gaussian emissions, the states written out with credo.scan."""
    import jax.numpy as jnp

    import credo
    from credo import distributions as dist
    from credo.distributions import constraints

    A = credo.sample("A", dist.Dirichlet(jnp.ones((K, K)) + 4.0 * jnp.eye(K)).to_event(1))
    mu = credo.sample("mu", dist.ImproperUniform(constraints.ordered_vector, (), (K,)))
    credo.factor("mu_prior", dist.Normal(0.0, 5.0).log_prob(mu).sum())
    sigma = credo.sample("sigma", dist.HalfNormal(2.0))

    def step(previous, inputs):
        y_t, t = inputs
        probs = jnp.where(t == 0, jnp.ones(K) / K, A[previous])
        z = credo.sample("z", dist.Categorical(probs))
        credo.sample("y", dist.Normal(mu[z], sigma), obs=y_t)
        return z, None

    credo.scan(step, 0, (jnp.asarray(y), jnp.arange(len(y))), name="chain")


def counts_data() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.poisson(np.where(np.arange(T_COUNTS) < TRUE_TAU, EARLY, LATE))


def hmm_data(T: int = T_HMM) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    A = np.asarray(A_TRUE)
    states = np.zeros(T, dtype=int)
    for t in range(1, T):
        states[t] = rng.choice(2, p=A[states[t - 1]])
    return rng.normal(np.asarray(MU_TRUE)[states], SIGMA_TRUE), states


def _settings(quick: bool) -> dict:
    return dict(chains=1, warmup=100, draws=100) if quick else dict(chains=2, warmup=300, draws=300)


def fit_change_point(quick: bool = False):
    import credo

    y = counts_data()
    post = credo.nuts(change_point, {"y": y}, seed=0, progress=False, **_settings(quick))
    return y, post, credo.discrete_marginals(change_point, post, {"y": y})["tau"]


def fit_hmm(quick: bool = False):
    import credo

    y, states = hmm_data(100 if quick else T_HMM)
    post = credo.nuts(hmm, {"y": y}, seed=0, progress=False, **_settings(quick))
    smoothed = credo.discrete_marginals(hmm, post, {"y": y})["z"]
    viterbi = credo.infer_discrete(hmm, post, {"y": y}, temperature=0).draws["z"]
    return y, states, post, smoothed, viterbi


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_dir, name: str) -> Path:
    fig.tight_layout()
    path = Path(out_dir) / name
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def discrete_changepoint(out_dir, quick: bool = False) -> Path:
    """The counts with the posterior mean rate (left) and the posterior of the change point (right)."""
    y, post, p_tau = fit_change_point(quick)
    T = len(y)
    t = np.arange(T)
    early = np.asarray(post.draws["early"]).ravel()
    late = np.asarray(post.draws["late"]).ravel()
    # the rate at t: P(t < tau | y) times the early rate plus the rest times the late one (posterior means)
    p_before = 1.0 - np.cumsum(p_tau)  # P(t < tau) = P(tau > t)
    rate = p_before * early.mean() + (1.0 - p_before) * late.mean()
    fig = _figure(9.4, 3.3)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    left.bar(t, y, width=0.8, color="0.75", label="counts")
    left.plot(t, rate, color="C0", lw=1.6, label="posterior mean rate")
    left.axvline(TRUE_TAU - 0.5, color="C3", ls="--", lw=1.0, label=f"true change point ({TRUE_TAU})")
    left.set_xlabel("t")
    left.set_ylabel("count")
    left.set_title(f"{T} Poisson counts, rate {EARLY:g} then {LATE:g}")
    left.legend(fontsize=8, frameon=False)
    lo, hi = max(0, TRUE_TAU - 15), min(T, TRUE_TAU + 16)
    right.bar(t[lo:hi], p_tau[lo:hi], width=0.8, color="C0")
    right.axvline(TRUE_TAU, color="C3", ls="--", lw=1.0, label="true change point")
    right.set_xlabel("tau")
    right.set_ylabel("P(tau | y)")
    right.set_title("posterior of the change point")
    right.legend(fontsize=8, frameon=False)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, out_dir, "discrete-changepoint.png")


def discrete_hmm(out_dir, quick: bool = False) -> Path:
    """The series coloured by true state (top) and the smoothed P(state 1) with the Viterbi path (bottom)."""
    y, states, _, smoothed, viterbi = fit_hmm(quick)
    t = np.arange(len(y))
    path = np.asarray(viterbi).reshape(-1, len(y))[0]
    fig = _figure(9.4, 4.4)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 1]})
    top.plot(t, y, color="0.6", lw=0.7, zorder=1)
    for k, color in ((0, "C0"), (1, "C1")):
        mask = states == k
        top.scatter(t[mask], y[mask], s=6, color=color, zorder=2, label=f"true state {k}")
    top.set_ylabel("y")
    top.set_title(f"{len(y)} observations of a two-state HMM (Gaussian emissions)")
    top.legend(fontsize=8, frameon=False, loc="upper right", ncol=2)
    bottom.fill_between(t, 0, states, step="mid", color="0.85", label="true state")
    bottom.plot(t, smoothed[:, 1], color="C1", lw=1.3, label="P(z_t = 1 | y), smoothed")
    bottom.plot(t, path, color="k", lw=0.8, ls=":", drawstyle="steps-mid", label="Viterbi path")
    bottom.set_ylim(-0.05, 1.45)
    bottom.set_yticks([0.0, 0.5, 1.0])
    bottom.set_xlabel("t")
    bottom.set_ylabel("state 1")
    bottom.legend(fontsize=8, frameon=False, loc="upper right", ncol=3)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, out_dir, "discrete-hmm.png")


FIGURES = [discrete_changepoint, discrete_hmm]


def main(argv: list[str]) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # as the test suite; a script may, the library never does
    out_dir = Path(argv[1]) if len(argv) > 1 else IMG_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    y, post, p_tau = fit_change_point()
    print(post.summary()[["mean", "sd", "r_hat"]].round(3))
    print("P(tau = true) =", round(float(p_tau[TRUE_TAU]), 3), " mode", int(np.argmax(p_tau)))
    y, states, post, smoothed, viterbi = fit_hmm()
    print(post.summary()[["mean", "sd", "r_hat"]].round(3))
    print("smoothed argmax agrees with the true states:", float(np.mean(smoothed.argmax(-1) == states)))
    print("Viterbi agrees with the true states:", float(np.mean(np.asarray(viterbi)[0, 0] == states)))
    for make in FIGURES:
        path = make(out_dir)
        print(path, f"{path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(sys.argv)
