"""Conjugate complete conditionals of a model's latent sites.

For a latent site ``s`` the *complete conditional* is ``p(s | everything else)
∝ p(s | parents) * prod_c p(c | s, ...)`` over its stochastic children ``c``
(sample sites reached from ``s`` through deterministic sites only). When the
prior of ``s`` and every child form a conjugate pair, that conditional is again
in the prior's family with updated parameters (Gelman et al. 2013, BDA3,
ch. 2-3 and 14; Bishop 2006, ch. 2), and a Gibbs sampler can draw it exactly.

Detection is numerical and uses only the model's code: the model is traced at
two random points of its latent space (prior draws) and, for each child, the
child's parameter is differentiated with respect to ``s``
(:func:`jax.jacfwd`). A pair counts as conjugate when

- the parameter that carries ``s`` is a *selection* of ``s``: every element of
  the child's parameter equals one element of ``s`` (broadcasting, plates and
  indexing such as ``mu[z]`` all qualify), possibly after a fixed map (a
  Normal's ``scale**-2`` is a Gamma-distributed precision, ``scale**2`` an
  Inverse-Gamma-distributed variance); for a Normal prior the child's ``loc``
  may be any *affine* function of ``s`` (linear regression);
- the child's other parameters do not depend on ``s``.

The conditional's parameters are then sums of the children's sufficient
statistics, gathered back onto the elements of ``s`` by the transpose of the
selection (a :func:`jax.vjp`), so the same code serves scalar, plated and
indexed sites. The functions returned are pure and jittable: they take the
constrained values of the latent sites and return the conditional's parameters.

Supported pairs (prior: child families):

============  ===============================================  ===========================
prior         children (parameter carrying the site)           conditional
============  ===============================================  ===========================
Beta          Bernoulli, Binomial, Geometric (``probs``)       Beta
Gamma         Poisson, Exponential (``rate``);                 Gamma
              Normal (precision ``scale**-2``)
InverseGamma  Normal (variance ``scale**2``)                   InverseGamma
Dirichlet     Categorical, Multinomial (``probs``)             Dirichlet
Normal        Normal with ``loc`` affine in the site           Normal (independent
                                                               elements) or
                                                               MultivariateNormal
MVN           Normal with ``loc`` affine in the site           MultivariateNormal
any           no stochastic children                           the prior itself
============  ===============================================  ===========================

Examples
--------
>>> from credo.ppl.conjugacy import conjugate_conditional
>>> from credo.ppl.examples import flu_prevalence
>>> cond = conjugate_conditional(flu_prevalence, {"n": 100, "y": 12}, "theta")
>>> cond.kind, cond.family
('Beta-Binomial', 'Beta')
>>> {k: float(v) for k, v in cond.parameters({"theta": 0.3}).items()}
{'concentration1': 13.0, 'concentration0': 89.0}

References
----------
.. [1] Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B., Vehtari, A. and
   Rubin, D. B. (2013). *Bayesian Data Analysis*, 3rd ed. CRC Press.
.. [2] Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*,
   ch. 2 (conjugate priors) and 10.4 (exponential-family conditionals).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from credo import distributions as dist
from credo.distributions import ImproperDistributionError
from credo.errors import ModelError

from .structure import ModelStructure, distribution_name, likelihood_weight, parameter, tolerance, unwrap

# ModelStructure lives in credo.ppl.structure; it stays importable from here, its first home
__all__ = ["ModelStructure", "ConjugateConditional", "conjugate_conditional",
           "conjugate_conditionals"]


# ----------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True, eq=False)
class ConjugateConditional:
    """The exact complete conditional of one latent site.

    Attributes
    ----------
    site : str
    kind : str
        The conjugate pair, e.g. ``"Beta-Binomial"``, ``"Normal-Normal"``,
        ``"Normal-linear"`` or ``"prior"`` (no stochastic children).
    family : str
        Class name of the conditional: ``"Beta"``, ``"Gamma"``,
        ``"InverseGamma"``, ``"Dirichlet"``, ``"Normal"``,
        ``"MultivariateNormal"`` (or the prior's class for ``"prior"``).
    children : tuple of str
        The stochastic children whose likelihood enters.
    parameters : callable
        ``parameters(values) -> dict`` of the conditional's parameters
        (keyword arguments of ``family``), from the constrained ``values``
        (dict name -> array) of the latent sites; the site's own value is not
        used. Elementwise families have parameters of the site's shape; a
        ``MultivariateNormal`` has ``loc`` of shape ``(d,)`` and
        ``precision_matrix`` ``(d, d)`` over the site's flattened elements.
        Pure and jittable.
    shape : tuple of int
        The site's shape.
    """

    site: str
    kind: str
    family: str
    children: tuple
    parameters: Callable
    shape: tuple
    _distribution: Callable = dataclasses.field(repr=False, default=None)

    def distribution(self, values: dict):
        """The conditional as a credo distribution at ``values``."""
        return self._distribution(values)

    def sample(self, key, values: dict):
        """One exact draw of the site given the other sites' ``values``, shape :attr:`shape`."""
        return jnp.reshape(self.distribution(values).sample(key), self.shape)


# ----------------------------------------------------------------------------- rules
def _stats_bernoulli(base, y):
    return y, 1.0 - y


def _stats_binomial(base, y):
    return y, base.total_count - y


def _stats_geometric(base, y):
    return jnp.ones_like(y), y


def _stats_poisson(base, y):
    return y, jnp.ones_like(y)


def _stats_exponential(base, y):
    return jnp.ones_like(y), y


def _stats_normal_precision(base, y):
    return jnp.full_like(y, 0.5), 0.5 * (y - base.loc) ** 2


def _stats_categorical(base, y):
    return (jax.nn.one_hot(y, base.probs.shape[-1], dtype=base.probs.dtype),)


def _stats_multinomial(base, y):
    return (y,)


def _identity(p):
    return p


@dataclasses.dataclass(frozen=True)
class _Rule:
    """A child family: the parameter carrying the site, its map to the site's scale, statistics."""

    param: str
    stats: Callable
    transform: Callable = _identity


# Precision and variance of a Normal child from its standard deviation.
_precision = lambda scale: scale ** -2  # noqa: E731
_variance = lambda scale: scale ** 2  # noqa: E731

_RULES = {
    "Beta": {"Bernoulli": _Rule("probs", _stats_bernoulli),
             "Binomial": _Rule("probs", _stats_binomial),
             "Geometric": _Rule("probs", _stats_geometric)},
    "Gamma": {"Poisson": _Rule("rate", _stats_poisson),
              "Exponential": _Rule("rate", _stats_exponential),
              "Normal": _Rule("scale", _stats_normal_precision, _precision)},
    "InverseGamma": {"Normal": _Rule("scale", _stats_normal_precision, _variance)},
    "Dirichlet": {"Categorical": _Rule("probs", _stats_categorical),
                  "Multinomial": _Rule("probs", _stats_multinomial)},
}
# prior family -> (names of its parameters updated by the statistics, in order)
_PRIOR_PARAMS = {
    "Beta": ("concentration1", "concentration0"),
    "Gamma": ("concentration", "rate"),
    "InverseGamma": ("concentration", "rate"),
    "Dirichlet": ("concentration",),
}


def _fixed_params(base, param: str) -> tuple:
    names = [n for n in base.arg_constraints if n != param]
    if param == "probs":  # the logits are a function of the probs
        names = [n for n in names if n != "logits"]
    return tuple(names)


# ----------------------------------------------------------------------------- detection
def conjugate_conditional(model, data: dict | None = None, site: str | None = None, *,
                          structure: ModelStructure | None = None, seed: int = 0):
    """The conjugate complete conditional of latent ``site``, or None.

    Parameters
    ----------
    model : callable
    data : dict, optional
    site : str
        A latent sample site.
    structure : ModelStructure, optional
        Reuse an analysed model (then ``model`` and ``data`` are ignored).
    seed : int
        Seeds the random points at which the structure is checked.

    Returns
    -------
    ConjugateConditional or None
    """
    struct = structure if structure is not None else ModelStructure(model, data)
    if site not in struct.latent:
        raise ModelError(f"{site!r} is not a latent sample site (latent: {list(struct.latent)})")
    if struct.is_discrete(site):
        return None
    try:
        return _detect(struct, site, seed)
    except ImproperDistributionError:
        return None


def conjugate_conditionals(model, data: dict | None = None, *,
                           structure: ModelStructure | None = None, seed: int = 0) -> dict:
    """``{site: ConjugateConditional}`` for every latent site with a conjugate conditional."""
    struct = structure if structure is not None else ModelStructure(model, data)
    out = {}
    for name in struct.latent:
        found = conjugate_conditional(None, structure=struct, site=name, seed=seed)
        if found is not None:
            out[name] = found
    return out


def _contexts(struct: ModelStructure, seed: int, count: int = 2) -> list:
    key = jax.random.PRNGKey(seed)
    # uniform draws in unconstrained space: any point of the support will do, and
    # unlike prior draws they need no (slow to compile) samplers
    return [struct.random_values(jax.random.fold_in(key, i), "uniform") for i in range(count)]


def _detect(struct: ModelStructure, s: str, seed: int):
    proto = struct.site(s)
    if proto.mask is not None or proto.scale is not None:
        return None
    children = struct.children[s]
    shape = tuple(jnp.shape(proto.value))
    if not children:
        proto.fn.sample(jax.random.PRNGKey(0))  # improper priors have no sampler: raises
        return _prior_conditional(struct, s, shape)
    if any(struct.prototype[c].type != "sample" for c in children):
        return None
    prior, _, _ = unwrap(proto.fn)
    family = type(prior).__name__
    contexts = _contexts(struct, seed)
    if family in _RULES:
        return _detect_selection(struct, s, shape, family, children, contexts)
    if family == "Normal" or (family == "MultivariateNormal" and prior.batch_shape == ()):
        return _detect_normal_linear(struct, s, shape, family, children, contexts)
    return None


def _child_bases(struct, values, children):
    tr = struct.trace_at(values)
    return tr, [(tr[c], *unwrap(tr[c].fn)) for c in children]


def _probe(struct, s, child, param, transform):
    """A jitted ``(context, v1, v2) -> (J, g(v1), g(v2), fixed(v1), fixed(v2))`` for one child.

    ``g`` maps the site's value to the child's ``transform(param)``, ``J`` is
    its Jacobian at ``v1``, and ``fixed`` are the child's other parameters.
    One compiled program per child keeps the analysis fast (eager
    differentiation would compile every primitive separately).
    """
    def g(ctx, sv):
        _, [(_, base, _, _)] = _child_bases(struct, {**ctx, s: sv}, [child])
        return transform(parameter(base, param)), base

    def run(ctx, v1, v2):
        jac = jax.jacfwd(lambda sv: g(ctx, sv)[0])(v1)
        g1, b1 = g(ctx, v1)
        g2, b2 = g(ctx, v2)
        names = _fixed_params(b1, param)
        return (jnp.reshape(jac, (g1.size, -1)), jnp.reshape(g1, (-1,)), jnp.reshape(g2, (-1,)),
                [parameter(b1, n) for n in names], [parameter(b2, n) for n in names])

    return jax.jit(run)


def _probes(struct, s, children, params, transforms, contexts):
    """Run each child's probe at each pair of contexts; yields numpy results."""
    for c, param, transform in zip(children, params, transforms):
        probe = _probe(struct, s, c, param, transform)
        for ctx, other in zip(contexts, contexts[1:] + contexts[:1]):
            v1, v2 = jnp.asarray(ctx[s]), jnp.asarray(other[s])
            out = jax.device_get(probe(ctx, v1, v2))
            yield c, np.asarray(v1).reshape(-1), np.asarray(v2).reshape(-1), out


def _fixed_equal(fixed1, fixed2) -> bool:
    for a, b in zip(fixed1, fixed2):
        a, b = np.asarray(a), np.asarray(b)
        tol = tolerance(a.dtype if np.issubdtype(a.dtype, np.floating) else np.float64)
        if not np.allclose(a, b, rtol=tol, atol=tol):
            return False
    return True


def _detect_selection(struct, s, shape, family, children, contexts):
    rules = _RULES[family]
    chosen = []
    for c in children:
        base, _, _ = unwrap(struct.prototype[c].fn)
        rule = rules.get(type(base).__name__)
        if rule is None:
            return None
        chosen.append(rule)
    for _, v1, v2, (jac, g1, g2, f1, f2) in _probes(
            struct, s, children, [r.param for r in chosen], [r.transform for r in chosen], contexts):
        if not _is_selection(jac):
            return None
        tol = tolerance(jac.dtype)
        if not np.allclose(g2, jac @ v2, rtol=tol, atol=tol):
            return None
        if not _fixed_equal(f1, f2):
            return None
    names = sorted({type(unwrap(struct.prototype[c].fn)[0]).__name__ for c in children})
    kind = f"{family}-{'+'.join(names)}"
    return _selection_conditional(struct, s, shape, family, children, tuple(chosen), kind)


def _is_selection(jac: np.ndarray) -> bool:
    tol = tolerance(jac.dtype)
    ones = np.abs(jac - 1.0) < tol
    zeros = np.abs(jac) < tol
    return bool(np.all(ones | zeros) and np.all(ones.sum(axis=1) == 1))


def _selection_conditional(struct, s, shape, family, children, rules, kind):
    prior_names = _PRIOR_PARAMS[family]

    def parameters(values):
        v = jnp.asarray(values[s])

        def g(sv):
            tr, bases = _child_bases(struct, {**values, s: sv}, children)
            outs, stats = [], []
            for (site, base, mask, extra), rule in zip(bases, rules):
                p = rule.transform(parameter(base, rule.param))
                w = likelihood_weight(site, base, mask, extra, p.shape)
                y = jnp.asarray(site.value)
                outs.append(p)
                stats.append(tuple(jnp.broadcast_to(t, p.shape) * w for t in rule.stats(base, y)))
            prior, _, _ = unwrap(tr[s].fn)
            return outs, (stats, {n: parameter(prior, n) for n in prior_names})

        _, pullback, (stats, prior_params) = jax.vjp(g, v, has_aux=True)
        out = {}
        for k, name in enumerate(prior_names):
            gathered = pullback([st[k] for st in stats])[0]
            out[name] = jnp.reshape(prior_params[name], shape) + gathered
        return out

    ctor = getattr(dist, family)
    return ConjugateConditional(s, kind, family, tuple(children), parameters, shape,
                                lambda values: ctor(**parameters(values)))


def _detect_normal_linear(struct, s, shape, family, children, contexts):
    for c in children:
        base, _, _ = unwrap(struct.prototype[c].fn)
        if type(base).__name__ != "Normal":
            return None
    diagonal = family == "Normal"
    identity = True
    n = len(children)
    for _, v1, v2, (jac, g1, g2, f1, f2) in _probes(struct, s, children, ["loc"] * n,
                                                    [_identity] * n, contexts):
        tol = tolerance(jac.dtype)
        predicted = g1 + jac @ (v2 - v1)
        if not np.allclose(g2, predicted, rtol=tol, atol=tol * (1.0 + np.max(np.abs(g2)))):
            return None
        if not _fixed_equal(f1, f2):
            return None
        nonzero = np.abs(jac) > tol
        diagonal = diagonal and bool(np.all(nonzero.sum(axis=1) <= 1))
        identity = identity and _is_selection(jac)
    kind = f"{family}-Normal" if identity else f"{family}-linear"
    return _normal_conditional(struct, s, shape, family, tuple(children), diagonal, kind)


def _normal_conditional(struct, s, shape, family, children, diagonal, kind):
    size = math.prod(shape)

    def locs_and_aux(values, sv):
        tr, bases = _child_bases(struct, {**values, s: sv}, children)
        locs, aux = [], []
        for site, base, mask, extra in bases:
            loc = parameter(base, "loc")
            w = likelihood_weight(site, base, mask, extra, loc.shape)
            scale = parameter(base, "scale")
            locs.append(loc)
            aux.append((jnp.broadcast_to(jnp.asarray(site.value), loc.shape), w / scale ** 2))
        prior, _, _ = unwrap(tr[s].fn)
        return locs, (aux, prior)

    def parameters(values):
        v = jnp.asarray(values[s])
        # one model run: the locs are affine in s, so their linearisation is exact
        locs, lin, (aux, prior) = jax.linearize(lambda sv: locs_and_aux(values, sv), v,
                                                has_aux=True)
        transpose = jax.linear_transpose(lin, v)
        offsets = [loc - av for loc, av in zip(locs, lin(v))]  # b = A s + b - A s
        # A^T W (y - b): the children's residuals at s = 0, gathered onto s
        h = transpose([w * (y - b) for (y, w), b in zip(aux, offsets)])[0]
        if diagonal:
            # one nonzero per row of A: diag(A^T W A) = A^T (W (A 1))
            a1 = lin(jnp.ones_like(v))
            data_prec = transpose([w * a for (_, w), a in zip(aux, a1)])[0]
            prior_prec = jnp.broadcast_to(parameter(prior, "scale"), shape) ** -2
            prec = prior_prec + jnp.reshape(data_prec, shape)
            mean = (jnp.broadcast_to(parameter(prior, "loc"), shape) * prior_prec
                    + jnp.reshape(h, shape)) / prec
            return {"loc": mean, "scale": jax.lax.rsqrt(prec)}
        basis = jnp.eye(size, dtype=v.dtype).reshape((size,) + shape)
        columns = jax.vmap(lin)(basis)  # per child, (size, *loc shape): A's columns
        jac = jnp.concatenate([jnp.reshape(c, (size, -1)) for c in columns], axis=1).T
        weights = jnp.concatenate([jnp.reshape(w, (-1,)) for _, w in aux])
        if family == "MultivariateNormal":
            prior_prec, prior_mean = prior.precision_matrix, prior.loc
        else:
            prior_prec = jnp.diag(jnp.reshape(jnp.broadcast_to(parameter(prior, "scale"), shape), (-1,)) ** -2)
            prior_mean = jnp.reshape(jnp.broadcast_to(parameter(prior, "loc"), shape), (-1,))
        precision = prior_prec + jac.T @ (weights[:, None] * jac)
        rhs = prior_prec @ prior_mean + jnp.reshape(h, (-1,))
        chol = jnp.linalg.cholesky(precision)
        mean = jax.scipy.linalg.cho_solve((chol, True), rhs)
        return {"loc": mean, "precision_matrix": precision}

    if diagonal:
        return ConjugateConditional(s, kind, "Normal", children, parameters, shape,
                                    lambda values: dist.Normal(**parameters(values)))
    return ConjugateConditional(s, kind, "MultivariateNormal", children, parameters, shape,
                                lambda values: dist.MultivariateNormal(**parameters(values)))


def _prior_conditional(struct, s, shape):
    family = distribution_name(struct.site(s).fn)

    def prior_at(values):
        return struct.trace_at(values)[s].fn

    def parameters(values):
        base, _, _ = unwrap(prior_at(values))
        return {n: getattr(base, n) for n in base.arg_constraints if hasattr(base, n)}

    return ConjugateConditional(s, "prior", family, (), parameters, shape, prior_at)
