"""The clinic story of the background article, told by credo in one screen.

Run it with ``make demo`` or ``python -m credo.demo``. It builds the clinic
network (:func:`credo.examples.clinic`), then asks it the article's questions:
how a cough changes the belief in the flu, how a known cold *explains away*
the cough, which variables the graph says are independent, and what the most
probable explanation of a cough with fever is. Every number printed is
computed by :func:`credo.query` or :func:`credo.mpe`; none is typed in.

Only the discrete core is imported (no JAX, pandas or matplotlib), so the demo
starts and finishes in well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import credo

__all__ = ["Story", "compute_story", "format_story", "main"]

#: Width of the section rules in the printed story.
WIDTH = 72


@dataclass(frozen=True)
class Story:
    """The numbers the demo prints, computed from a model.

    Attributes
    ----------
    p_flu : float
        Prior P(Flu=yes).
    p_flu_cough : float
        P(Flu=yes | Cough=yes).
    p_flu_cough_cold : float
        P(Flu=yes | Cough=yes, Cold=yes): lower than ``p_flu_cough``
        (explaining away).
    p_flu_cough_no_cold : float
        P(Flu=yes | Cough=yes, Cold=no): higher than ``p_flu_cough``.
    p_flu_cold : float
        P(Flu=yes | Cold=yes): equal to ``p_flu``, as d-separation predicts.
    marginally_separated : bool
        Whether Cold and Flu are d-separated given nothing.
    open_path : credo.graphs.OpenPath or None
        An open trail between Cold and Flu given Cough.
    mpe : credo.MPEResult
        Most probable explanation of Cough=yes, Fever=yes.
    """

    p_flu: float
    p_flu_cough: float
    p_flu_cough_cold: float
    p_flu_cough_no_cold: float
    p_flu_cold: float
    marginally_separated: bool
    open_path: object
    mpe: credo.MPEResult


def _p_flu(model, **evidence) -> float:
    return credo.query(model, ["Flu"], evidence).marginals["Flu"]["yes"]


def compute_story(model: credo.BayesianNetwork | None = None) -> Story:
    """Run every query of the demo.

    Parameters
    ----------
    model : BayesianNetwork, optional
        A network with the clinic's variables (default: :func:`credo.examples.clinic`).

    Returns
    -------
    Story
    """
    model = model if model is not None else credo.examples.clinic()
    return Story(
        p_flu=_p_flu(model),
        p_flu_cough=_p_flu(model, Cough="yes"),
        p_flu_cough_cold=_p_flu(model, Cough="yes", Cold="yes"),
        p_flu_cough_no_cold=_p_flu(model, Cough="yes", Cold="no"),
        p_flu_cold=_p_flu(model, Cold="yes"),
        marginally_separated=model.is_d_separated("Cold", "Flu"),
        open_path=model.explain_dependence("Cold", "Flu", given=["Cough"]),
        mpe=credo.mpe(model, {"Cough": "yes", "Fever": "yes"}),
    )


def _section(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _describe_cpd(cpd) -> str:
    """One line saying what a node's table holds, e.g. ``P(yes) = 0.20`` or noisy-OR strengths."""
    if isinstance(cpd, credo.NoisyOrCPD):
        links = ", ".join(f"{p} {q:.2f}" for p, q in zip(cpd.parents, cpd.link_probs))
        leak = f", leak {cpd.leak:.2f}" if cpd.leak is not None else ""
        return f"noisy-OR: {links}{leak}"
    if not cpd.parents:
        return f"P({cpd.states[0]}) = {cpd.table[0]:.2f}"
    return "table"


def format_story(model: credo.BayesianNetwork | None = None) -> str:
    """The demo's text.

    Parameters
    ----------
    model : BayesianNetwork, optional
        Default: :func:`credo.examples.clinic`.

    Returns
    -------
    str
    """
    model = model if model is not None else credo.examples.clinic()
    story = compute_story(model)
    lines = ["credo demo: the clinic of 'Probabilistic Models & Inference'", "=" * WIDTH]

    # --- the network
    lines += _section("1. The network")
    lines.append("Three conditions cause four symptoms; every variable is yes/no.")
    lines.append("")
    width = max(len(str(v)) for v in model.variables)
    lines.append(f"  {'variable':<{width}}  {'parents':<18} {'free':>4}  table")
    for v in model.topological_order:
        cpd = model.cpd(v)
        parents = ", ".join(map(str, cpd.parents)) or "-"
        lines.append(f"  {str(v):<{width}}  {parents:<18} {cpd.num_parameters():>4}  {_describe_cpd(cpd)}")
    full_joint = math.prod(model.cardinality(v) for v in model.variables) - 1
    lines.append("")
    lines.append(f"Parameters: {model.num_parameters()} for the network, against {full_joint} for the full "
                 f"joint table")
    lines.append(f"of {len(model.variables)} binary variables (2^{len(model.variables)} - 1).")

    # --- diagnosis
    lines += _section("2. Diagnosis: a patient coughs")
    lines.append(f"  P(Flu=yes)                        = {story.p_flu:.4f}")
    lines.append(f"  P(Flu=yes | Cough=yes)            = {story.p_flu_cough:.4f}"
                 f"   ({story.p_flu_cough / story.p_flu:.1f}x the prior)")

    # --- explaining away
    lines += _section("3. Explaining away: the patient also has a cold")
    lines.append(f"  P(Flu=yes | Cough=yes, Cold=yes)  = {story.p_flu_cough_cold:.4f}   (drops back)")
    lines.append(f"  P(Flu=yes | Cough=yes, Cold=no)   = {story.p_flu_cough_no_cold:.4f}   (rises further)")
    lines.append("Cold -> Cough <- Flu is a collider: once the cough is seen, a known cold")
    lines.append("already explains it, so the flu is no longer needed to account for it.")

    # --- d-separation
    lines += _section("4. Reading independence off the graph (d-separation)")
    verdict = "yes" if story.marginally_separated else "no"
    lines.append(f"  Are Cold and Flu independent?           {verdict}: d-separated given nothing")
    lines.append(f"    check: P(Flu=yes | Cold=yes) = {story.p_flu_cold:.4f} = P(Flu=yes)")
    path = story.open_path
    if path is None:  # pragma: no cover - not the case for the clinic
        lines.append("  Are they independent given Cough?       yes: d-separated")
    else:
        lines.append("  Are they independent given Cough?       no: an open path connects them")
        lines.append(f"    open path: {path}")
        lines += [f"    {step.node}: {step.reason}" for step in path.steps]

    # --- MPE
    lines += _section("5. Most probable explanation of Cough=yes, Fever=yes")
    mpe = story.mpe
    hidden = {v: s for v, s in mpe.assignment.items() if v not in mpe.evidence}
    lines.append("  " + ", ".join(f"{v}={s}" for v, s in hidden.items()))
    lines.append(f"  ln P(x, e) = {mpe.log_joint:.4f}   (P(x, e) = {math.exp(mpe.log_joint):.4f})")
    lines.append("")
    lines.append("More: docs/index.md, and `credo query`, `credo dsep` on the command line.")
    return "\n".join(lines)


def main(write: Callable[[str], object] = print) -> None:
    """Print the clinic story.

    Parameters
    ----------
    write : callable, optional
        Receives the whole text (default: :func:`print`).
    """
    write(format_story())


if __name__ == "__main__":
    main()
