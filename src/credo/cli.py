"""The ``credo`` command: inspect and query model files from the shell.

A thin layer over the public API::

    credo info NET [--json]
    credo query NET [--evidence VAR=STATE ...] [--soft VAR=W1,W2,...] [--target VAR ...] [--method ...] [--json]
    credo mpe NET [--evidence VAR=STATE ...] [--soft VAR=W1,W2,...] [--json]
    credo dsep NET X Y [--given Z ...] [--json]
    credo vae-demo [--latent 2] [--epochs N] [--out DIR] [--seed S]

``NET`` is a ``.bif``, ``.xml``/``.xmlbif`` or ``.uai`` file (``--evid FILE``
adds a UAI evidence file), or the name of a network shipped with credo
(``alarm``, ``asia``, ``clinic``, ...; see ``credo.examples.NETWORK_NAMES``). Every error a user can cause (a missing file, a
malformed model, an unknown variable or state, impossible evidence) is printed
as ``credo: error: ...`` on stderr with exit status 2, never as a traceback.

Startup stays fast because nothing here (nor in ``import credo``) loads JAX,
pandas or matplotlib; ``vae-demo`` imports them when it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, Hashable, Iterable, Mapping, Sequence

import credo
from credo.errors import CredoError, UnknownVariableError
from credo.inference import METHODS

__all__ = ["main", "build_parser", "load_model"]

#: Exit status of every user error (argparse uses the same for bad usage).
EXIT_USAGE = 2

#: Width, in characters, of the probability bar in human-readable query output.
BAR_WIDTH = 20


class CommandError(Exception):
    """A user error found by the CLI itself (not by the library)."""


# ------------------------------------------------------------------ loading
_READERS: dict[str, str] = {".bif": "bif", ".xml": "xmlbif", ".xmlbif": "xmlbif", ".uai": "uai"}


def load_model(path: str, evid: str | None = None):
    """Read a model file, choosing the reader by extension.

    Parameters
    ----------
    path : str
        ``.bif``, ``.xml``/``.xmlbif`` or ``.uai`` file.
    evid : str, optional
        UAI evidence file (only with a ``.uai`` model).

    Returns
    -------
    (model, evidence)
        ``evidence`` is the UAI evidence file's ``{variable: state}``, else ``{}``.

    Raises
    ------
    CommandError
        Unknown extension, unreadable file, or ``evid`` with a non-UAI model.
    ParseError
        The file is malformed (with line:column).
    """
    if not os.path.exists(path) and _is_example(path):
        if evid is not None:
            raise CommandError("--evid applies to UAI files only, not to the example network "
                               f"{path!r}")
        return credo.examples.network(path), {}
    kind = _READERS.get(os.path.splitext(path)[1].lower())
    if kind is None and not os.path.splitext(path)[1] and not os.path.exists(path):
        from credo.errors import suggestion
        from credo.examples.discrete import NETWORK_NAMES

        raise CommandError(f"no file {path!r}, and no network shipped with credo of that name"
                           f"{suggestion(path, NETWORK_NAMES + ('clinic', 'sprinkler'))}; shipped: "
                           f"{', '.join(NETWORK_NAMES)}, clinic, sprinkler")
    if kind is None:
        raise CommandError(f"cannot tell the format of {path!r} from its extension; "
                           f"expected one of {', '.join(sorted(_READERS))}")
    if evid is not None and kind != "uai":
        raise CommandError("--evid applies to UAI models only; use --evidence VAR=STATE")
    try:
        if kind == "bif":
            return credo.read_bif(path), {}
        if kind == "xmlbif":
            return credo.read_xmlbif(path), {}
        return credo.read_uai(path, evid)
    except OSError as exc:  # missing file, a directory, no permission
        culprit = exc.filename if exc.filename is not None else path
        raise CommandError(f"cannot read {os.fspath(culprit)!r}: {exc.strerror or exc}") from None


def _is_example(name: str) -> bool:
    """Whether ``name`` is one of the networks shipped with credo (``alarm``, ``asia``, ``clinic``, ...)."""
    from credo.examples.discrete import NETWORK_NAMES

    return name in NETWORK_NAMES or name in ("clinic", "sprinkler")


class _Names:
    """Resolves command-line text to the model's variables.

    UAI variables are integers, so ``"3"`` must find the variable ``3``:
    variables are matched by ``str(v) == text``, with one lookup built up front.
    """

    def __init__(self, model):
        self.model = model
        self.lookup = {str(v): v for v in model.variables}

    def variable(self, text: str) -> Hashable:
        try:
            return self.lookup[text]
        except KeyError:
            raise UnknownVariableError(text, self.model.variables) from None

    def node_set(self, texts: Iterable[str]) -> list:
        """Variables named by ``texts``, each a name or a comma-separated list of names."""
        nodes = []
        for text in texts:
            # A whole item that names a variable wins over splitting it on commas.
            parts = [text] if text in self.lookup else [p.strip() for p in text.split(",") if p.strip()]
            nodes.extend(self.variable(p) for p in parts)
        return list(dict.fromkeys(nodes))

    def soft(self, pairs: Sequence[tuple[str, list]]) -> dict:
        """``{variable: likelihood}`` from ``--soft`` pairs (the library validates the weights)."""
        out: dict = {}
        for text, weights in pairs:
            variable = self.variable(text)
            if variable in out:
                raise CommandError(f"variable {text!r} is given two soft likelihoods")
            out[variable] = weights
        return out

    def evidence(self, pairs: Sequence[tuple[str, str]], from_file: Mapping | None = None) -> dict:
        """Canonical evidence from ``--evidence`` pairs merged with a UAI evidence file.

        Raises
        ------
        CommandError
            A variable is given two different states.
        UnknownVariableError, UnknownStateError
            From the model, naming the culprit and the valid choices.
        """
        merged = self.model.check_evidence(from_file or {})
        for text, state in pairs:
            variable = self.variable(text)
            canonical = self.model.check_evidence({variable: state})[variable]
            if variable in merged and merged[variable] != canonical:
                raise CommandError(f"variable {text!r} is given two states: "
                                   f"{merged[variable]!r} and {canonical!r}")
            merged[variable] = canonical
        return merged


def _soft_item(text: str) -> tuple[str, list[float]]:
    """argparse type of one ``VAR=W1,W2,...`` likelihood (split on the last '=': names may contain '=')."""
    variable, sep, weights = text.rpartition("=")
    try:
        values = [float(w) for w in weights.split(",")]
    except ValueError:
        values = []
    if not sep or not variable or not values:
        raise argparse.ArgumentTypeError(f"expected VAR=W1,W2,... (one weight per state), got {text!r}")
    return variable, values


def _evidence_item(text: str) -> tuple[str, str]:
    """argparse type of one ``VAR=STATE`` item (split on the first '=': states may contain '=')."""
    variable, sep, state = text.partition("=")
    if not sep or not variable or not state:
        raise argparse.ArgumentTypeError(f"expected VAR=STATE, got {text!r}")
    return variable, state


# ------------------------------------------------------------------ output
def _plain(value):
    """A JSON-ready scalar: strings, ints, floats and bools as they are, anything else by str."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _emit_json(data) -> None:
    # json.dumps writes floats by repr, so they round-trip exactly.
    print(json.dumps(data, indent=2))


def _table(header: Sequence[str], rows: Iterable[Sequence], align: str | None = None) -> str:
    """A plain-text table; ``align`` has one of 'l'/'r' per column (default all left)."""
    rows = [[str(c) for c in row] for row in rows]
    align = align or "l" * len(header)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells):
        padded = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)]
        return "  ".join(padded).rstrip()

    rule = ["-" * w if h else "" for h, w in zip(header, widths)]  # no rule under a blank header
    return "\n".join([line(header), line(rule)] + [line(r) for r in rows])


def _bar(p: float) -> str:
    return "#" * int(round(p * BAR_WIDTH))


def _shorten(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _node_text(nodes: Sequence) -> str:
    """A node set for a sentence: ``A`` for one node, ``{A, B}`` otherwise."""
    if len(nodes) == 1:
        return str(nodes[0])
    return "{" + ", ".join(map(str, nodes)) + "}"


def _print_soft(soft: Mapping) -> None:
    if soft:
        print("soft      " + ", ".join(f"{v}=" + ",".join(f"{w:g}" for w in weights) for v, weights in soft.items()))


def _evidence_text(evidence: Mapping) -> str:
    return ", ".join(f"{v}={s}" for v, s in evidence.items()) or "none"


def _is_bayesian(model) -> bool:
    return isinstance(model, credo.BayesianNetwork)


# ------------------------------------------------------------------ commands
def _treewidth(model) -> dict:
    """Induced widths of the min-fill and min-degree orders; the smaller bounds the treewidth."""
    widths = {h: credo.elimination_order(model, h).induced_width for h in ("min-fill", "min-degree")}
    best = min(widths, key=widths.get)  # ties go to min-fill, listed first
    return {"estimate": widths[best], "heuristic": best,
            "min_fill": widths["min-fill"], "min_degree": widths["min-degree"]}


def _info_data(model, path: str) -> dict:
    """Everything ``credo info`` reports, JSON-ready."""
    bayesian = _is_bayesian(model)
    graph = model.graph if bayesian else model.interaction_graph()
    data = {
        "file": path,
        "name": model.name or os.path.basename(path),
        "type": type(model).__name__,
        "num_nodes": len(model.variables),
        "num_edges": graph.number_of_edges(),
    }
    if bayesian:
        data["num_parameters"] = model.num_parameters()
    else:
        factors = model.factors
        data["num_factors"] = len(factors)
        data["num_table_entries"] = int(sum(f.values.size for f in factors))
    data["treewidth"] = _treewidth(model)
    variables = []
    for v in model.variables:
        entry = {"name": _plain(v), "states": [_plain(s) for s in model.states(v)]}
        if bayesian:
            entry["parents"] = [_plain(p) for p in model.parents(v)]
        else:
            entry["neighbors"] = sorted((_plain(n) for n in graph.neighbors(v)), key=str)
        variables.append(entry)
    data["variables"] = variables
    return data


def _print_info(data: dict) -> None:
    tw = data["treewidth"]
    other = "min-degree" if tw["heuristic"] == "min-fill" else "min-fill"
    other_width = tw["min_degree"] if other == "min-degree" else tw["min_fill"]
    lines = [
        f"name        {data['name']}  ({data['type']}, {data['file']})",
        f"nodes       {data['num_nodes']}",
        f"edges       {data['num_edges']}",
    ]
    if "num_parameters" in data:
        lines.append(f"parameters  {data['num_parameters']} free")
    else:
        lines.append(f"factors     {data['num_factors']} ({data['num_table_entries']} table entries)")
    lines.append(f"treewidth   <= {tw['estimate']} (induced width of the {tw['heuristic']} order; "
                 f"{other} gives {other_width})")
    print("\n".join(lines) + "\n")
    directed = data["type"] == "BayesianNetwork"
    rows = []
    for entry in data["variables"]:
        states = entry["states"]
        related = entry["parents"] if directed else entry["neighbors"]
        rows.append([entry["name"], len(states), _shorten(", ".join(map(str, states))),
                     _shorten(", ".join(map(str, related))) or "-"])
    header = ["variable", "#", "states", "parents" if directed else "neighbors"]
    print(_table(header, rows, "lrll"))


def cmd_info(args) -> int:
    model, _ = load_model(args.network, args.evid)
    data = _info_data(model, args.network)
    if args.json:
        _emit_json(data)
    else:
        _print_info(data)
    return 0


def cmd_query(args) -> int:
    model, file_evidence = load_model(args.network, args.evid)
    names = _Names(model)
    evidence = names.evidence(args.evidence, file_evidence)
    targets = names.node_set(args.target) if args.target else None
    soft = names.soft(args.soft)
    result = credo.query(model, targets=targets, evidence=evidence, method=args.method, soft_evidence=soft)
    if args.json:
        data = result.to_dict()
        if result.method == "bp":
            data["approximate"] = True  # the Bethe estimate; exact only on trees
            data["converged"] = bool(result.info.get("converged"))
        _emit_json(data)
        return 0
    label = "ln P(e)" if _is_bayesian(model) else "ln Z(e)"
    print(f"evidence  {_evidence_text(result.evidence)}")
    _print_soft(soft)
    if result.method == "bp":
        converged = "converged" if result.info.get("converged") else "did NOT converge"
        print(f"{label:<8}  {result.log_evidence!r}  (approximate: the Bethe estimate of belief propagation, "
              f"exact only on tree-structured models; {converged} in {result.info.get('iterations')} "
              f"iterations)\n")
    else:
        print(f"{label:<8}  {result.log_evidence!r}\n")
    rows = []
    for v, dist in result.marginals.items():
        for i, (s, p) in enumerate(dist.items()):
            rows.append([v if i == 0 else "", s, f"{p:.6f}", _bar(p)])
    print(_table(["variable", "state", "probability", ""], rows, "llrl"))
    return 0


def cmd_mpe(args) -> int:
    model, file_evidence = load_model(args.network, args.evid)
    names = _Names(model)
    evidence = names.evidence(args.evidence, file_evidence)
    soft = names.soft(args.soft)
    result = credo.mpe(model, evidence, soft_evidence=soft)
    if args.json:
        _emit_json(result.to_dict())
        return 0
    label = "ln P(x, e)" if _is_bayesian(model) else "ln p~(x, e)"  # unnormalized for a Markov network
    print(f"evidence  {_evidence_text(result.evidence)}")
    _print_soft(soft)
    print(f"{label}  {result.log_joint!r}\n")
    rows = [[v, s, "evidence" if v in result.evidence else ""] for v, s in result.assignment.items()]
    print(_table(["variable", "state", ""], rows))
    return 0


def _step_text(step) -> str:
    # The library's reasons begin with the kind ("chain a -> b -> c: ..."); add it if not.
    return step.reason if step.reason.startswith(step.kind) else f"{step.kind}: {step.reason}"


def cmd_dsep(args) -> int:
    model, _ = load_model(args.network, args.evid)
    if not _is_bayesian(model):
        raise CommandError(f"d-separation needs a Bayesian network; {args.network!r} holds a "
                           f"{type(model).__name__}")
    names = _Names(model)
    xs, ys, zs = names.node_set([args.x]), names.node_set([args.y]), names.node_set(args.given)
    path = model.explain_dependence(xs, ys, zs)
    if args.json:
        _emit_json({"d_separated": path is None,
                    "open_path": None if path is None else [_plain(n) for n in path.nodes]})
        return 0
    given = "{" + ", ".join(map(str, zs)) + "}"
    if path is None:
        print(f"{_node_text(xs)} and {_node_text(ys)} are d-separated given {given}")
        return 0
    print(f"{_node_text(xs)} and {_node_text(ys)} are d-connected given {given}; an open trail:")
    print(f"  {path}")
    width = max((len(str(step.node)) for step in path.steps), default=0)
    for step in path.steps:
        print(f"    {str(step.node):<{width}}  {_step_text(step)}")
    return 0


def cmd_vae_demo(args) -> int:
    """Train a VAE on the bundled digits; write figures, the model and a summary into --out."""
    if args.latent < 1 or args.epochs < 1 or args.gap_steps < 1:
        raise CommandError("--latent, --epochs and --gap-steps must be positive")
    from credo.vae_demo import demo  # imports JAX: only when this command runs

    summary = demo(args.out, latent_dim=args.latent, epochs=args.epochs, seed=args.seed,
                   gap_steps=args.gap_steps, progress=not args.quiet)
    test = summary["test"]
    print(f"VAE on 8x8 digits: latent {args.latent}, {args.epochs} epochs, "
          f"{summary['config']['train']} training / {summary['config']['test']} test images")
    print(f"test ELBO           {test['elbo']:9.2f} nats per image")
    print(f"test IWAE (K={test['iwae_samples']})   {test['iwae']:9.2f} nats per image")
    print(f"amortization gap    {test['gap']:9.2f} nats per image")
    for path in summary["figures"]:
        print(f"wrote {path}")
    print(f"wrote {os.path.join(args.out, 'summary.json')} and {os.path.join(args.out, 'vae.npz')}")
    return 0


# ------------------------------------------------------------------ parser
def _add_network(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("network", metavar="NET", help="model file: .bif, .xml/.xmlbif or .uai")
    parser.add_argument("--evid", metavar="FILE", help="UAI evidence file (with a .uai model)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_evidence(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--evidence", metavar="VAR=STATE", nargs="+", action="extend", default=[],
                        type=_evidence_item,
                        help="observed states; repeatable, several per flag (split at the first '=')")
    parser.add_argument("-s", "--soft", metavar="VAR=W1,W2,...", nargs="+", action="extend", default=[],
                        type=_soft_item,
                        help="soft (virtual) evidence: one non-negative likelihood per state, in the "
                             "model's state order; repeatable")


#: Options whose values are VAR=... pairs, several per flag.
_PAIR_OPTIONS = {"-e": "--evidence", "--evidence": "--evidence", "-s": "--soft", "--soft": "--soft"}


def _bounded_pairs(argv: list) -> list:
    """``-e A=1 B=2 net.bif`` as ``--evidence=A=1 --evidence=B=2 net.bif``.

    A flag taking several values would otherwise swallow the network file
    that follows its pairs; a pair always has an ``=``, so the first word
    without one ends the list.
    """
    out, i = [], 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return out + argv[i:]
        if word in _PAIR_OPTIONS:
            i += 1
            taken = 0
            while i < len(argv) and "=" in argv[i] and not argv[i].startswith("-"):
                out.append(f"{_PAIR_OPTIONS[word]}={argv[i]}")
                i += 1
                taken += 1
            if not taken:  # let argparse report the missing value
                out.append(word)
            continue
        out.append(word)
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    """The ``credo`` argument parser (one subcommand per task)."""
    parser = argparse.ArgumentParser(prog="credo", description="Inspect and query discrete graphical models.")
    parser.add_argument("--version", action="version", version=f"credo {credo.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = sub.add_parser("info", help="size, structure and treewidth of a model",
                          description="Nodes, edges, states, parameters and a treewidth estimate.")
    _add_network(info)
    info.set_defaults(run=cmd_info)

    query = sub.add_parser("query", help="posterior marginals given evidence",
                           description="Posterior marginals and ln P(e) by exact inference.")
    _add_network(query)
    _add_evidence(query)
    query.add_argument("-t", "--target", metavar="VAR", nargs="+", action="extend", default=[],
                       help="variables to report (default: every unobserved one); repeatable or comma-separated")
    query.add_argument("--method", choices=["auto", *sorted(METHODS)], default="auto",
                       help="inference method (default: auto)")
    query.set_defaults(run=cmd_query)

    mpe = sub.add_parser("mpe", help="most probable explanation given evidence",
                         description="The most probable full assignment and its ln P(x, e).")
    _add_network(mpe)
    _add_evidence(mpe)
    mpe.set_defaults(run=cmd_mpe)

    dsep = sub.add_parser("dsep", help="d-separation test with an explaining open trail",
                          description="Whether X and Y are d-separated given Z; if not, an open trail.")
    _add_network(dsep)
    dsep.add_argument("x", metavar="X", help="a variable or comma-separated variables")
    dsep.add_argument("y", metavar="Y", help="a variable or comma-separated variables")
    dsep.add_argument("-g", "--given", metavar="Z", nargs="+", action="extend", default=[],
                      help="observed variables; repeatable or comma-separated")
    dsep.set_defaults(run=cmd_dsep)

    vae = sub.add_parser("vae-demo", help="train a variational autoencoder on the bundled digits",
                         description="Train a VAE on the 8x8 digits (70/30 split), report test "
                                     "ELBO, IWAE and amortization gap, and write PNG figures.")
    vae.add_argument("--latent", type=int, default=2, help="latent dimension (default 2)")
    vae.add_argument("--epochs", type=int, default=1000, help="training epochs (default 1000)")
    vae.add_argument("--out", default="vae-demo", metavar="DIR",
                     help="output folder (default ./vae-demo)")
    vae.add_argument("--seed", type=int, default=0, help="seed of weights and training (default 0)")
    vae.add_argument("--gap-steps", type=int, default=500, metavar="N",
                     help="Adam steps of the per-image VI behind the amortization gap (default 500)")
    vae.add_argument("--quiet", action="store_true", help="no progress bar")
    vae.set_defaults(run=cmd_vae_demo)
    return parser


def _error(message: str) -> int:
    print(f"credo: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``credo`` command; returns the exit status instead of exiting.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on any user error (reported on stderr).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(_bounded_pairs(sys.argv[1:] if argv is None else list(argv)))
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed already
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    run: Callable = args.run
    try:
        return run(args)
    except (CredoError, CommandError) as exc:
        return _error(str(exc))
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. captured output)
        pass


if __name__ == "__main__":
    sys.exit(main())
