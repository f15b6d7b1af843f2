r"""Normalizing flows: coupling-layer families for variational inference.

A flow pushes a standard normal :math:`z \sim N(0, I_d)` through a bijection
:math:`x = T(z) = \mu + L\,(f_K \circ \dots \circ f_1)(z)`, with :math:`L` lower
triangular with a positive diagonal (a trainable linear layer, so the flow
contains the full-rank Gaussian family); by the change of variables,

.. math::

    \log q(x) = \log N(z; 0, I) - \sum_k \log\left|\det \frac{\partial f_k}{\partial h_{k-1}}\right|
                - \sum_i \log L_{ii} .

Each :math:`f_k` is a *coupling layer* (Dinh, Sohl-Dickstein & Bengio 2017):
a binary mask :math:`m` splits the coordinates; the masked ones pass through
unchanged and parameterise, through an MLP, an elementwise bijection of the
others, so the Jacobian is triangular and its determinant is the product of
the elementwise derivatives. Masks alternate between layers so every
coordinate is transformed. Two elementwise maps are available:

``"affine"`` (RealNVP)
    :math:`y = x e^{s} + t`, with :math:`s = 2\tanh(\cdot)` bounded for stability.
``"spline"`` (Neural Spline Flows, Durkan et al. 2019)
    a monotone rational-quadratic spline on :math:`[-B, B]` with :math:`K`
    bins, the identity outside. Unlike an affine map it can bend a Gaussian
    into a multimodal density.

In one dimension there is nothing to condition on: every layer transforms the
single coordinate with parameters that are free constants (:class:`Constant`
replaces the MLP). Affine layers would then
compose to one affine map, a Gaussian, so ``coupling="auto"`` picks
``"spline"`` for ``d = 1`` and ``"affine"`` otherwise.

Layers start at the identity (the MLPs' last layers are zero), so the
initial flow is the Gaussian :math:`N(\mu, LL^\top)`.

References
----------
Dinh, L., Sohl-Dickstein, J., & Bengio, S. (2017). Density estimation using
Real NVP. *ICLR*.

Durkan, C., Bekasov, A., Murray, I., & Papamakarios, G. (2019). Neural spline
flows. *NeurIPS*.

Rezende, D., & Mohamed, S. (2015). Variational inference with normalizing
flows. *ICML*.

Examples
--------
>>> import jax
>>> from credo.vi.flows import Flow
>>> flow = Flow.realnvp(2, jax.random.PRNGKey(0), depth=2, hidden=8)
>>> x, lq = flow.sample_and_log_prob(jax.random.PRNGKey(1), 3)
>>> x.shape, lq.shape
((3, 2), (3,))
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jax.scipy.linalg import solve_triangular

from credo.errors import ArgumentError

from .families import Family, _standard_normal_logpdf, inverse_softplus, raw_tril, tril_from_raw

__all__ = ["Flow", "AffineCoupling", "SplineCoupling", "Constant", "rational_quadratic_spline"]

_MIN_BIN = 1e-3
_MIN_DERIVATIVE = 1e-3


def _mask(dim: int, parity: int):
    """1 for the coordinates a layer conditions on (passes through), 0 for those it transforms."""
    if dim == 1:
        return jnp.zeros((1,))
    return ((jnp.arange(dim) + parity) % 2 == 0).astype(float)


def _zero_last_layer(mlp: eqx.nn.MLP) -> eqx.nn.MLP:
    last = mlp.layers[-1]
    return eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), mlp,
                       (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))


class Constant(eqx.Module):
    """A conditioner with nothing to condition on: a free parameter vector (starts at 0)."""

    value: jax.Array

    def __call__(self, x):
        return self.value


def _conditioner(dim: int, out: int, hidden: int, key):
    if dim == 1:  # the masked input is always zero: an MLP would be an overparameterised constant
        return Constant(jnp.zeros(out))
    mlp = eqx.nn.MLP(dim, out, hidden, depth=2, activation=jax.nn.tanh, key=key)
    return _zero_last_layer(mlp)


class AffineCoupling(eqx.Module):
    r"""RealNVP affine coupling: :math:`y = m x + (1 - m)(x e^{s(mx)} + t(mx))`.

    ``log|det J| = sum((1 - m) * s)``, with :math:`s = 2\tanh(\tilde s)`.
    Methods act on one vector of shape ``(d,)``.
    """

    net: eqx.Module
    dim: int = eqx.field(static=True)
    parity: int = eqx.field(static=True)

    def __init__(self, dim: int, parity: int, hidden: int, key):
        self.dim, self.parity = int(dim), int(parity)
        self.net = _conditioner(dim, 2 * dim, hidden, key)

    def _params(self, x):
        m = _mask(self.dim, self.parity).astype(x.dtype)
        out = self.net(m * x).reshape(2, self.dim)
        return m, 2.0 * jnp.tanh(out[0]), out[1]

    def forward(self, x):
        """``(y, log|det dy/dx|)``."""
        m, s, t = self._params(x)
        y = m * x + (1 - m) * (x * jnp.exp(s) + t)
        return y, jnp.sum((1 - m) * s)

    def inverse(self, y):
        """``(x, log|det dx/dy|)``."""
        m, s, t = self._params(y)  # the conditioning coordinates are unchanged
        x = m * y + (1 - m) * (y - t) * jnp.exp(-s)
        return x, -jnp.sum((1 - m) * s)


def _spline_knots(raw_w, raw_h, raw_d, bound):
    bins = raw_w.shape[-1]
    widths = _MIN_BIN + (1 - _MIN_BIN * bins) * jax.nn.softmax(raw_w, axis=-1)
    heights = _MIN_BIN + (1 - _MIN_BIN * bins) * jax.nn.softmax(raw_h, axis=-1)
    pad = [(0, 0)] * (raw_w.ndim - 1) + [(1, 0)]
    xs = jnp.pad(jnp.cumsum(widths, -1), pad) * 2 * bound - bound
    ys = jnp.pad(jnp.cumsum(heights, -1), pad) * 2 * bound - bound
    xs = xs.at[..., -1].set(bound)
    ys = ys.at[..., -1].set(bound)
    ones = jnp.ones(raw_d.shape[:-1] + (1,), raw_d.dtype)
    # softplus(raw + c) = 1 at raw = 0: a zero-initialised conditioner gives the identity
    inner = _MIN_DERIVATIVE + jax.nn.softplus(raw_d + inverse_softplus(1.0 - _MIN_DERIVATIVE))
    derivs = jnp.concatenate([ones, inner, ones], axis=-1)
    return xs, ys, derivs


def _gather(arr, idx):
    return jnp.take_along_axis(arr, idx[..., None], axis=-1)[..., 0]


def rational_quadratic_spline(x, raw_widths, raw_heights, raw_derivatives, *, bound=5.0,
                              inverse=False):
    r"""Monotone rational-quadratic spline (Durkan et al. 2019, Sec. 3), elementwise.

    On bin :math:`k` with knots :math:`(x_k, y_k)`, width :math:`w_k`, height
    :math:`h_k`, slope :math:`s_k = h_k / w_k`, knot derivatives
    :math:`\delta_k, \delta_{k+1}` and :math:`\xi = (x - x_k)/w_k`:

    .. math::

        y = y_k + \frac{h_k\,[s_k\xi^2 + \delta_k\xi(1-\xi)]}
                        {s_k + (\delta_{k+1} + \delta_k - 2s_k)\xi(1-\xi)},

    and the identity outside :math:`[-B, B]` (boundary derivatives are 1, so
    the map is :math:`C^1`). The inverse solves the quadratic in :math:`\xi`.

    Parameters
    ----------
    x : array, shape ``(...)``
    raw_widths, raw_heights : array, shape ``(..., K)``
        Unnormalised bin sizes (softmax-normalised); broadcast against ``x``.
    raw_derivatives : array, shape ``(..., K - 1)``
        Unconstrained interior derivatives (softplus, 1 at 0).
    bound : float
    inverse : bool
        Evaluate the inverse map.

    Returns
    -------
    y, log_abs_det : arrays, shape ``(...)``
        The (inverse) map and ``log|dy/dx|`` elementwise.
    """
    x = jnp.asarray(x)
    bins = raw_widths.shape[-1]
    raw_widths = jnp.broadcast_to(raw_widths, x.shape + (bins,))
    raw_heights = jnp.broadcast_to(raw_heights, x.shape + (bins,))
    raw_derivatives = jnp.broadcast_to(raw_derivatives, x.shape + (bins - 1,))
    xs, ys, derivs = _spline_knots(raw_widths, raw_heights, raw_derivatives, bound)
    inside = (x > -bound) & (x < bound)
    xc = jnp.clip(x, -bound, bound)
    knots = ys if inverse else xs
    idx = jnp.clip(jnp.sum(xc[..., None] >= knots[..., 1:], axis=-1), 0, bins - 1)
    x_k, x_k1 = _gather(xs, idx), _gather(xs, idx + 1)
    y_k, y_k1 = _gather(ys, idx), _gather(ys, idx + 1)
    d_k, d_k1 = _gather(derivs, idx), _gather(derivs, idx + 1)
    w, h = x_k1 - x_k, y_k1 - y_k
    s = h / w
    if inverse:
        dy = xc - y_k
        a = h * (s - d_k) + dy * (d_k1 + d_k - 2 * s)
        b = h * d_k - dy * (d_k1 + d_k - 2 * s)
        c = -s * dy
        disc = jnp.maximum(b**2 - 4 * a * c, 0.0)
        xi = jnp.clip(2 * c / (-b - jnp.sqrt(disc)), 0.0, 1.0)
        out = x_k + xi * w
    else:
        xi = (xc - x_k) / w
        num = h * (s * xi**2 + d_k * xi * (1 - xi))
        out = y_k + num / (s + (d_k1 + d_k - 2 * s) * xi * (1 - xi))
    denom = s + (d_k1 + d_k - 2 * s) * xi * (1 - xi)
    dnum = s**2 * (d_k1 * xi**2 + 2 * s * xi * (1 - xi) + d_k * (1 - xi) ** 2)
    logdet = jnp.log(dnum) - 2 * jnp.log(denom)  # log dy/dx of the forward map
    if inverse:
        logdet = -logdet
    return jnp.where(inside, out, x), jnp.where(inside, logdet, 0.0)


class SplineCoupling(eqx.Module):
    """Coupling layer with a rational-quadratic spline (Durkan et al. 2019).

    Methods act on one vector of shape ``(d,)``.
    """

    net: eqx.Module
    dim: int = eqx.field(static=True)
    parity: int = eqx.field(static=True)
    bins: int = eqx.field(static=True)
    bound: float = eqx.field(static=True)

    def __init__(self, dim: int, parity: int, hidden: int, key, bins: int = 8,
                 bound: float = 5.0):
        self.dim, self.parity, self.bins, self.bound = int(dim), int(parity), int(bins), float(bound)
        self.net = _conditioner(dim, dim * (3 * bins - 1), hidden, key)

    def _params(self, x):
        m = _mask(self.dim, self.parity).astype(x.dtype)
        out = self.net(m * x).reshape(self.dim, 3 * self.bins - 1)
        return m, out[:, :self.bins], out[:, self.bins:2 * self.bins], out[:, 2 * self.bins:]

    def _apply(self, x, inverse):
        m, w, h, d = self._params(x)
        y, ld = rational_quadratic_spline(x, w, h, d, bound=self.bound, inverse=inverse)
        return m * x + (1 - m) * y, jnp.sum((1 - m) * ld)

    def forward(self, x):
        """``(y, log|det dy/dx|)``."""
        return self._apply(x, False)

    def inverse(self, y):
        """``(x, log|det dx/dy|)``."""
        return self._apply(y, True)


class Flow(Family):
    r"""Normalizing-flow family :math:`x = \mu + L f(z)`, :math:`z \sim N(0, I)`.

    Build with :meth:`realnvp`. :meth:`sample_and_log_prob` is one forward
    pass; :meth:`log_prob` runs the layers' analytic inverses. There is no
    closed-form mean or entropy (estimate them from draws).

    Attributes
    ----------
    layers : tuple of coupling layers
    loc : array, shape ``(d,)``
    raw_tril : array, shape ``(d, d)``
        :math:`L`, stored as in :class:`~credo.vi.families.FullRank`.
    """

    layers: tuple
    loc: jax.Array
    raw_tril: jax.Array

    def __init__(self, layers, loc, scale_tril=1.0):
        self.layers = tuple(layers)
        self.loc = jnp.asarray(loc)
        self.raw_tril = raw_tril(scale_tril, self.loc.shape[-1], self.loc.dtype)

    @classmethod
    def realnvp(cls, dim: int, key, *, depth: int = 4, hidden: int = 32, coupling: str = "auto",
                loc=None, scale_tril=1.0, bins: int = 8, bound: float = 5.0) -> "Flow":
        """A coupling flow with alternating masks.

        Parameters
        ----------
        dim : int
        key : PRNG key
            Initialises the MLPs' hidden layers.
        depth : int
            Number of coupling layers.
        hidden : int
            Width of the conditioners' two hidden layers.
        coupling : {"auto", "affine", "spline"}
            ``"auto"``: ``"spline"`` when ``dim == 1``, else ``"affine"``.
        loc, scale_tril : array or float
            The outer affine map (initial :math:`\\mu` and :math:`L`; a float
            or vector means a diagonal :math:`L`).
        bins, bound : int, float
            Spline bins :math:`K` and interval :math:`[-B, B]` (spline layers only).
        """
        if coupling == "auto":
            coupling = "spline" if dim == 1 else "affine"
        if coupling not in ("affine", "spline"):
            raise ArgumentError("coupling", f"must be 'auto', 'affine' or 'spline', got {coupling!r}")
        keys = jax.random.split(key, depth)
        if coupling == "affine":
            layers = [AffineCoupling(dim, k % 2, hidden, keys[k]) for k in range(depth)]
        else:
            layers = [SplineCoupling(dim, k % 2, hidden, keys[k], bins=bins, bound=bound)
                      for k in range(depth)]
        loc = jnp.zeros(dim) if loc is None else jnp.asarray(loc)
        return cls(layers, loc, scale_tril)

    @property
    def dim(self) -> int:
        return self.loc.shape[-1]

    @property
    def scale_tril(self):
        """:math:`L`, shape ``(d, d)``."""
        return tril_from_raw(self.raw_tril)

    def _layers_forward(self, z):
        h, total = z, 0.0
        for layer in self.layers:
            h, ld = layer.forward(h)
            total = total + ld
        return h, total

    def _layers_inverse(self, h):
        total = 0.0
        for layer in reversed(self.layers):
            h, ld = layer.inverse(h)
            total = total + ld
        return h, total

    def forward(self, z):
        """``T(z)`` and ``log|det dT/dz|`` for ``z`` of shape ``(..., d)``."""
        flat = jnp.reshape(z, (-1, self.dim))
        h, ld = jax.vmap(self._layers_forward)(flat)
        tril = self.scale_tril
        x = self.loc + h @ tril.T
        ld = ld + jnp.sum(jnp.log(jnp.diag(tril)))
        return x.reshape(jnp.shape(z)), ld.reshape(jnp.shape(z)[:-1])

    def inverse(self, x):
        """``T^{-1}(x)`` and ``log|det dT^{-1}/dx|`` for ``x`` of shape ``(..., d)``."""
        flat = jnp.reshape(x, (-1, self.dim))
        tril = self.scale_tril
        h = solve_triangular(tril, (flat - self.loc).T, lower=True).T
        z, ld = jax.vmap(self._layers_inverse)(h)
        ld = ld - jnp.sum(jnp.log(jnp.diag(tril)))
        return z.reshape(jnp.shape(x)), ld.reshape(jnp.shape(x)[:-1])

    def sample(self, key, n: int):
        return self.sample_and_log_prob(key, n)[0]

    def sample_and_log_prob(self, key, n: int):
        z = jax.random.normal(key, (n, self.dim), self.loc.dtype)
        x, ld = self.forward(z)
        return x, _standard_normal_logpdf(z) - ld

    def log_prob(self, x):
        z, ld = self.inverse(x)
        return _standard_normal_logpdf(z) + ld
