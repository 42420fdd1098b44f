"""Small programs in the style of the public autograd and JAX example scripts, written
against funcgrad as a NumPy user would write them (np-style calls, Python loops, pytrees
of parameters), each run for a few steps and checked against something that can fail: a
NumPy or closed-form reference, finite differences, or a stated drop in the loss."""

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, optim
from funcgrad.flatten_util import ravel_pytree
from funcgrad.testing import check_grads


def _digits(n, seed=0):
    """``n`` of scikit-learn's 8x8 digits as (n, 64) float64 pixels in [0, 1] and labels."""
    x, y = fg.datasets.digits()
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx].reshape(n, -1).astype(np.float64), y[idx]


def _numeric_grad(f, x, eps=1e-6):
    """Central differences of scalar ``f`` (plain NumPy) at every element of ``x``."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# ---------------------------------------------------------------- classifiers


def _init_mlp(sizes, rng, scale=0.1):
    return [
        (scale * rng.standard_normal((m, n)), np.zeros(n))
        for m, n in zip(sizes[:-1], sizes[1:], strict=False)
    ]


def _mlp_logits(params, x):
    for w, b in params[:-1]:
        x = fnp.tanh(fnp.dot(x, w) + b)
    w, b = params[-1]
    return fnp.dot(x, w) + b


def _cross_entropy(params, x, onehot):
    logits = _mlp_logits(params, x)
    log_probs = logits - nn.logsumexp(logits, axis=1, keepdims=True)
    return -fnp.mean(fnp.sum(log_probs * onehot, axis=1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "make_opt",
    [lambda: optim.sgd(0.5, momentum=0.9), lambda: optim.adam(0.02)],
    ids=["sgd", "adam"],
)
def test_mlp_classifier_on_digits_learns(make_opt, dtype):
    x, y = _digits(400)
    x, onehot = x.astype(dtype), np.eye(10, dtype=dtype)[y]
    params = fg.tree.map(
        lambda p: p.astype(dtype), _init_mlp([64, 32, 10], np.random.default_rng(0))
    )
    opt = make_opt()
    state = opt.init(params)

    @fg.jit
    def step(params, state, xb, yb):
        loss, grads = fg.value_and_grad(_cross_entropy)(params, xb, yb)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, loss

    first = float(_cross_entropy(params, x, onehot))
    batch = 50
    for it in range(60):
        sl = slice((it % (len(x) // batch)) * batch, None)
        params, state, _ = step(params, state, x[sl][:batch], onehot[sl][:batch])
    last = _cross_entropy(params, x, onehot)
    assert last.dtype == dtype and all(p.dtype == dtype for p in fg.tree.leaves(params))
    assert float(last) < first / 4
    accuracy = np.mean(np.argmax(_mlp_logits(params, x), axis=1) == y)
    assert accuracy > 0.9


def _sigmoid(z):
    return 0.5 * (fnp.tanh(z / 2.0) + 1.0)


def _logistic_nll(w, x, t):
    p = _sigmoid(fnp.dot(x, w))
    return -fnp.sum(fnp.log(p * t + (1 - p) * (1 - t)))


def test_logistic_regression_gradient_hessian_and_newton_match_closed_forms():
    rng = np.random.default_rng(1)
    x = np.c_[rng.standard_normal((80, 3)), np.ones(80)]
    t = (x @ np.array([1.5, -2.0, 0.5, 0.3]) + 0.8 * rng.standard_normal(80) > 0).astype(float)
    w = np.zeros(4)
    p = 1 / (1 + np.exp(-x @ w))
    np.testing.assert_allclose(fg.grad(_logistic_nll)(w, x, t), x.T @ (p - t), rtol=1e-12)
    for _ in range(8):  # Newton's method with the Hessian funcgrad derives
        h = fg.hessian(_logistic_nll)(w, x, t)
        p = 1 / (1 + np.exp(-x @ w))
        np.testing.assert_allclose(h, (x.T * (p * (1 - p))) @ x, rtol=1e-10, atol=1e-12)
        w = w - np.linalg.solve(h, fg.grad(_logistic_nll)(w, x, t))
    g = fg.grad(_logistic_nll)(w, x, t)
    assert np.max(np.abs(g)) < 1e-8
    # gradient descent from zero approaches the minimum Newton found, from above
    v = np.zeros(4)
    for _ in range(300):
        v = v - 0.02 * fg.grad(_logistic_nll)(v, x, t)
    best, reached = float(_logistic_nll(w, x, t)), float(_logistic_nll(v, x, t))
    assert best - 1e-9 <= reached < best * 1.01


# ---------------------------------------------------------------- recurrent nets


def _toy_text(length, rng):
    """One-hot sequences of a periodic 4-letter text with a random phase per sequence."""
    base = np.array([0, 1, 2, 3, 2, 1])
    seqs = [np.roll(np.tile(base, length // 6 + 2), -rng.integers(6))[:length] for _ in range(8)]
    return np.eye(4)[np.array(seqs).T]  # (time, batch, letters)


def _rnn_init(rng, n_in, n_hidden, n_out, gates=1):
    scale = 0.3
    return {
        "init": scale * rng.standard_normal((1, n_hidden)),
        "change": scale * rng.standard_normal((n_in + n_hidden + 1, gates * n_hidden)),
        "predict": scale * rng.standard_normal((n_hidden + 1, n_out)),
    }


def _affine(x, w):
    """x @ w with a bias row, on x with a column of ones appended (autograd-example style)."""
    return fnp.dot(fnp.concatenate((x, fnp.ones((x.shape[0], 1))), axis=1), w)


def _rnn_outputs(params, inputs):
    hidden = fnp.repeat(params["init"], inputs.shape[1], axis=0)
    outputs = []
    for x in inputs:
        hidden = fnp.tanh(_affine(fnp.concatenate((x, hidden), axis=1), params["change"]))
        logits = _affine(hidden, params["predict"])
        outputs.append(logits - nn.logsumexp(logits, axis=1, keepdims=True))
    return outputs


def _lstm_outputs(params, inputs):
    n = params["init"].shape[1]
    hidden = fnp.repeat(params["init"], inputs.shape[1], axis=0)
    cells = fnp.zeros_like(hidden)
    outputs = []
    for x in inputs:
        gates = _affine(fnp.concatenate((x, hidden), axis=1), params["change"])
        change = fnp.tanh(gates[:, :n])
        forget, ingate, outgate = (_sigmoid(gates[:, k * n : (k + 1) * n]) for k in (1, 2, 3))
        cells = cells * forget + ingate * change
        hidden = outgate * fnp.tanh(cells)
        logits = _affine(hidden, params["predict"])
        outputs.append(logits - nn.logsumexp(logits, axis=1, keepdims=True))
    return outputs


def _sequence_nll(outputs_fn):
    def loss(params, seqs):
        outputs = outputs_fn(params, seqs[:-1])
        return -sum(
            fnp.sum(out * target) for out, target in zip(outputs, seqs[1:], strict=True)
        ) / (seqs.shape[0] * seqs.shape[1])

    return loss


@pytest.mark.parametrize(
    "outputs_fn, gates", [(_rnn_outputs, 1), (_lstm_outputs, 4)], ids=["rnn", "lstm"]
)
def test_recurrent_net_predicts_a_periodic_text(outputs_fn, gates):
    rng = np.random.default_rng(2)
    seqs = _toy_text(10, rng)
    loss = _sequence_nll(outputs_fn)
    params = _rnn_init(rng, 4, 8, 4, gates)
    small = fg.tree.map(lambda p: p[:, : p.shape[1]], params)
    check_grads(lambda p: loss(p, seqs[:4]), (small,), order=1)
    step = fg.jit(fg.value_and_grad(loss))
    opt = optim.adam(0.05)
    state = opt.init(params)
    first, _ = step(params, seqs)
    for _ in range(80):
        value, grads = step(params, seqs)
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    assert float(step(params, seqs)[0]) < float(first) / 5


# ---------------------------------------------------------------- convnet


def _conv_by_slices(x, w):
    """VALID cross-correlation written by hand (NCHW, OIHW): a sum of shifted slices."""
    kh, kw = w.shape[2:]
    h, wd = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = 0.0
    for i in range(kh):
        for j in range(kw):
            out = out + fnp.einsum("nchw,oc->nohw", x[:, :, i : i + h, j : j + wd], w[:, :, i, j])
    return out


def test_hand_written_convolution_matches_conv2d_with_its_gradients():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    np.testing.assert_allclose(_conv_by_slices(x, w), nn.conv2d(x, w), rtol=1e-12, atol=1e-12)
    probe = rng.standard_normal((2, 4, 4, 4))
    mine = fg.grad(lambda x, w: fnp.sum(_conv_by_slices(x, w) ** 2 * probe), argnums=(0, 1))(x, w)
    theirs = fg.grad(lambda x, w: fnp.sum(nn.conv2d(x, w) ** 2 * probe), argnums=(0, 1))(x, w)
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    # and 2x2 max pooling by a reshape and a max over the window axes
    y = _conv_by_slices(x, w)[:, :, :4, :4]

    def pool(y):
        n, c, h, wd = y.shape
        return fnp.max(y.reshape(n, c, h // 2, 2, wd // 2, 2), axis=(3, 5))

    np.testing.assert_allclose(pool(y), nn.max_pool2d(y, 2), rtol=1e-12)
    np.testing.assert_allclose(
        fg.grad(lambda y: fnp.sum(pool(y) * probe[:, :, :2, :2]))(y),
        fg.grad(lambda y: fnp.sum(nn.max_pool2d(y, 2) * probe[:, :, :2, :2]))(y),
        rtol=1e-12,
    )


def test_small_convnet_on_digits_learns():
    x, y = _digits(300, seed=1)
    x = x.reshape(-1, 1, 8, 8).astype(np.float32)
    init_fn, apply_fn = nn.serial(
        nn.Conv(6, (3, 3)), nn.Relu, nn.MaxPool((2, 2)), nn.Flatten, nn.Dense(10), nn.LogSoftmax
    )
    _, params = init_fn(fg.random.key(0), (-1, 1, 8, 8))
    opt = optim.adam(0.01)
    state = opt.init(params)

    def loss(params, xb, yb):
        return nn.losses.nll(apply_fn(params, xb), yb)

    @fg.jit
    def step(params, state, xb, yb):
        value, grads = fg.value_and_grad(loss)(params, xb, yb)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    first = float(loss(params, x, y))
    for it in range(40):
        b = (it % 6) * 50
        params, state, _ = step(params, state, x[b : b + 50], y[b : b + 50])
    assert float(loss(params, x, y)) < first / 3
    assert params[0]["w"].dtype == np.float32


# ---------------------------------------------------------------- variational inference


def _gaussian_logpdf(x, mean, log_std):
    """Diagonal Gaussian log-density, summed over the last axis."""
    z = (x - mean) / fnp.exp(log_std)
    return -0.5 * fnp.sum(z**2 + 2 * log_std + fnp.log(2 * fnp.pi), axis=-1)


def _black_box_elbo(log_density, dim):
    """Negative ELBO of a diagonal Gaussian q by the reparameterization trick, given the
    standard-normal draws ``eps`` (entropy in closed form)."""

    def neg_elbo(params, eps):
        mean, log_std = params[:dim], params[dim:]
        samples = mean + fnp.exp(log_std) * eps
        entropy = 0.5 * dim * (1.0 + fnp.log(2 * fnp.pi)) + fnp.sum(log_std)
        return -(fnp.mean(log_density(samples)) + entropy)

    return neg_elbo


def test_black_box_svi_recovers_a_gaussian_target():
    target_mean, target_log_std = np.array([1.0, -2.0, 0.5]), np.log([0.5, 1.5, 1.0])
    neg_elbo = _black_box_elbo(lambda z: _gaussian_logpdf(z, target_mean, target_log_std), 3)
    rng = np.random.default_rng(4)
    params = np.zeros(6)
    opt = optim.adam(0.05)
    state = opt.init(params)
    grad_fn = fg.jit(fg.grad(neg_elbo))
    for _ in range(400):
        updates, state = opt.update(grad_fn(params, rng.standard_normal((64, 3))), state, params)
        params = optim.apply_updates(params, updates)
    np.testing.assert_allclose(params[:3], target_mean, atol=0.1)
    np.testing.assert_allclose(params[3:], target_log_std, atol=0.1)
    # the reparameterized gradient of a fixed draw matches finite differences
    check_grads(neg_elbo, (params, rng.standard_normal((5, 3))), order=2)


def test_bayesian_neural_net_by_black_box_svi_fits_the_data():
    rng = np.random.default_rng(5)
    inputs = np.linspace(-2, 2, 20)[:, None]
    targets = np.sin(2 * inputs[:, 0]) + 0.1 * rng.standard_normal(20)
    shapes = {"w1": (1, 10), "b1": (10,), "w2": (10, 1), "b2": (1,)}
    flat0, unravel = ravel_pytree(
        fg.tree.map(np.zeros, shapes, is_leaf=lambda s: isinstance(s, tuple))
    )
    dim = flat0.size

    def predict(weights, x):
        p = unravel(weights)
        return fnp.dot(fnp.tanh(fnp.dot(x, p["w1"]) + p["b1"]), p["w2"])[:, 0] + p["b2"]

    def log_posterior(weights):
        prior = -0.5 * fnp.sum(weights**2)
        residual = predict(weights, inputs) - targets
        return prior - 0.5 * fnp.sum(residual**2) / 0.1**2

    # predictions for a stack of weight samples: vmap of the single-sample net against the
    # same net written over the sample axis with einsum
    samples = rng.standard_normal((3, dim))
    stacked = fg.vmap(unravel)(samples)
    hidden = fnp.tanh(fnp.einsum("nd,mdh->mnh", inputs, stacked["w1"]) + stacked["b1"][:, None])
    by_einsum = fnp.einsum("mnh,mho->mno", hidden, stacked["w2"])[..., 0] + stacked["b2"]
    np.testing.assert_allclose(
        fg.vmap(predict, in_axes=(0, None))(samples, inputs), by_einsum, rtol=1e-12
    )
    neg_elbo = _black_box_elbo(fg.vmap(log_posterior), dim)
    params = np.r_[0.5 * rng.standard_normal(dim), -3.0 * np.ones(dim)]
    step = fg.jit(fg.value_and_grad(neg_elbo))
    opt = optim.adam(0.05)
    state = opt.init(params)
    first = float(step(params, rng.standard_normal((8, dim)))[0])
    for _ in range(300):
        _, grads = step(params, rng.standard_normal((8, dim)))
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    last = np.mean([float(step(params, rng.standard_normal((8, dim)))[0]) for _ in range(5)])
    assert last < first / 10
    mse = np.mean((predict(params[:dim], inputs) - targets) ** 2)
    assert mse < 0.05


# ---------------------------------------------------------------- ICA


def test_maximum_likelihood_ica_unmixes_two_sources():
    rng = np.random.default_rng(6)
    sources = rng.laplace(size=(2, 500))
    mixing = np.array([[1.0, 0.6], [0.4, 1.0]])
    data = mixing @ sources

    def neg_log_likelihood(w):
        # super-Gaussian source prior log p(s) = -log cosh(s); the 2x2 determinant by hand
        s = fnp.dot(w, data)
        log_abs_det = fnp.log(fnp.abs(w[0, 0] * w[1, 1] - w[0, 1] * w[1, 0]))
        return fnp.mean(fnp.sum(fnp.logaddexp(s, -s) - fnp.log(2.0), axis=0)) - log_abs_det

    w = np.eye(2)
    check_grads(neg_log_likelihood, (w,), order=2)
    grad_fn = fg.jit(fg.grad(neg_log_likelihood))
    for _ in range(300):
        w = w - 0.1 * grad_fn(w)
    recovered = np.abs(w @ mixing)  # a scaled permutation when the sources are unmixed
    dominant, other = recovered.max(axis=1), recovered.min(axis=1)
    assert np.all(dominant > 10 * other)
    assert set(recovered.argmax(axis=1)) == {0, 1}


# ---------------------------------------------------------------- fluid simulation


def _fluid_step(xp, vx, vy, smoke, pressure_iters=8):
    """One step on a periodic grid: make the velocity divergence-free (Jacobi iterations
    on the pressure, with rolls for the neighbours), then advect everything along it
    semi-Lagrangianly with bilinear interpolation (floor for the cell, a clip at the edge)."""
    n = vx.shape[0]
    div = -0.5 * (
        (xp.roll(vx, -1, axis=0) - xp.roll(vx, 1, axis=0))
        + (xp.roll(vy, -1, axis=1) - xp.roll(vy, 1, axis=1))
    )
    p = xp.zeros_like(div)
    for _ in range(pressure_iters):
        p = (
            div + xp.roll(p, 1, 0) + xp.roll(p, -1, 0) + xp.roll(p, 1, 1) + xp.roll(p, -1, 1)
        ) / 4.0
    vx = vx - 0.5 * (xp.roll(p, -1, axis=0) - xp.roll(p, 1, axis=0))
    vy = vy - 0.5 * (xp.roll(p, -1, axis=1) - xp.roll(p, 1, axis=1))
    rows, cols = xp.meshgrid(xp.arange(n), xp.arange(n), indexing="ij")
    x = xp.clip(rows - vx, 0.0, n - 1.001)
    y = xp.clip(cols - vy, 0.0, n - 1.001)
    x0, y0 = xp.floor(x).astype(int), xp.floor(y).astype(int)
    fx, fy = x - x0, y - y0

    def at(f, i, j):
        # f[i, j] fails for a NumPy f (the smoke) and traced i, j: NumPy's indexing cannot
        # defer to a tracer, and fnp.asarray(f) stays a NumPy array; take goes through fnp
        return xp.take(f, i * n + j)

    def advect(f):
        return (1 - fx) * ((1 - fy) * at(f, x0, y0) + fy * at(f, x0, y0 + 1)) + fx * (
            (1 - fy) * at(f, x0 + 1, y0) + fy * at(f, x0 + 1, y0 + 1)
        )

    return advect(vx), advect(vy), advect(smoke)


def _fluid_simulate(xp, vx, vy, smoke, steps):
    for _ in range(steps):
        vx, vy, smoke = _fluid_step(xp, vx, vy, smoke)
    return smoke


def test_fluid_simulation_matches_numpy_and_differentiates():
    rng = np.random.default_rng(7)
    n = 10
    vx, vy = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    smoke = np.zeros((n, n))
    smoke[3:6, 3:6] = 1.0
    np.testing.assert_allclose(
        _fluid_simulate(fnp, vx, vy, smoke, 5),
        _fluid_simulate(np, vx, vy, smoke, 5),
        rtol=1e-12,
        atol=1e-12,
    )
    target = np.roll(smoke, 2, axis=1)

    def loss(vx, vy):
        return fnp.sum((_fluid_simulate(fnp, vx, vy, smoke, 3) - target) ** 2)

    gx, gy = fg.grad(loss, argnums=(0, 1))(vx, vy)
    np_loss = lambda vx: np.sum((_fluid_simulate(np, vx, vy, smoke, 3) - target) ** 2)  # noqa: E731
    np.testing.assert_allclose(gx, _numeric_grad(np_loss, vx), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        fg.jit(fg.grad(loss, argnums=(0, 1)))(vx, vy)[1], gy, rtol=1e-10, atol=1e-12
    )
    # a few gradient steps on the initial velocity move the smoke towards the target
    first = float(loss(vx, vy))
    step = fg.jit(fg.value_and_grad(loss, argnums=(0, 1)))
    for _ in range(15):
        _, (gx, gy) = step(vx, vy)
        vx, vy = vx - 0.05 * gx, vy - 0.05 * gy
    assert float(loss(vx, vy)) < first / 2


# ---------------------------------------------------------------- maximum likelihood


def _negative_binomial_loglik(counts, kmax):
    """Mean log pmf of NB(r, p) counts, params ``(log r, logit p)``; the log-gamma ratio
    log G(k + r) - log G(r) is the sum of log(r + j) over j < k, as counts are integers."""
    j = np.arange(kmax)
    below = j[None, :] < counts[:, None]
    log_k_factorial = np.array([math.lgamma(k + 1.0) for k in counts])

    def loglik(params):
        r, logit = fnp.exp(params[0]), params[1]
        log_ratio = fnp.sum(fnp.where(below, fnp.log(r + j), 0.0), axis=1)
        log_p, log_1mp = -fnp.logaddexp(0.0, -logit), -fnp.logaddexp(0.0, logit)
        return fnp.mean(log_ratio - log_k_factorial + r * log_1mp + counts * log_p)

    return loglik


def test_negative_binomial_maximum_likelihood():
    from scipy import optimize, stats

    rng = np.random.default_rng(8)
    counts = rng.negative_binomial(3.0, 0.4, size=300)  # numpy counts failures at p = 0.4
    loglik = _negative_binomial_loglik(counts, counts.max())
    params = np.array([np.log(2.0), 0.3])
    p = 1 / (1 + np.exp(-params[1]))
    np.testing.assert_allclose(
        loglik(params), np.mean(stats.nbinom.logpmf(counts, 2.0, 1 - p)), rtol=1e-12
    )
    check_grads(loglik, (params,), order=2)
    # scipy's BFGS with funcgrad's gradient as the Jacobian, as the ports do
    result = optimize.minimize(lambda p: -loglik(p), params, jac=fg.grad(lambda p: -loglik(p)))
    assert result.success and np.max(np.abs(result.jac)) < 1e-5
    params = result.x
    # at the maximum the fitted mean r p / (1 - p) is the sample mean
    r, p = np.exp(params[0]), 1 / (1 + np.exp(-params[1]))
    np.testing.assert_allclose(r * p / (1 - p), counts.mean(), rtol=1e-5)


def _mixture_loglik(params, x):
    """Mean log-likelihood of a K-component diagonal Gaussian mixture, by logsumexp."""
    log_weights = params["logits"] - nn.logsumexp(params["logits"])
    per_component = _gaussian_logpdf(x[:, None, :], params["means"], params["log_stds"])
    return fnp.mean(nn.logsumexp(per_component + log_weights, axis=1))


def test_gaussian_mixture_fit_by_gradient_ascent():
    from scipy import stats

    rng = np.random.default_rng(9)
    centres = np.array([[-3.0, 0.0], [2.0, 2.0], [2.0, -3.0]])
    x = np.concatenate([c + 0.5 * rng.standard_normal((60, 2)) for c in centres])
    params = {
        "logits": np.zeros(3),
        "means": x[[5, 70, 130]] + 0.5,  # one start near each cluster
        "log_stds": np.zeros((3, 2)),
    }
    reference = np.mean(
        np.log(
            sum(
                stats.multivariate_normal(params["means"][k], np.eye(2)).pdf(x) / 3
                for k in range(3)
            )
        )
    )
    np.testing.assert_allclose(_mixture_loglik(params, x), reference, rtol=1e-12)
    check_grads(lambda p: _mixture_loglik(p, x[:20]), (params,), order=2)
    step = fg.jit(fg.value_and_grad(lambda p, x: -_mixture_loglik(p, x)))
    opt = optim.adam(0.05)
    state = opt.init(params)
    first = float(step(params, x)[0])
    for _ in range(200):
        _, g = step(params, x)
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
    assert float(step(params, x)[0]) < first - 1.0
    order = np.argsort(params["means"][:, 0] + 0.1 * params["means"][:, 1])
    np.testing.assert_allclose(params["means"][order], centres[[0, 2, 1]], atol=0.2)
    np.testing.assert_allclose(np.exp(params["log_stds"]), 0.5, atol=0.1)


def test_hmm_forward_algorithm_and_posteriors_by_gradient():
    rng = np.random.default_rng(10)
    n_states, n_symbols, steps = 3, 4, 5
    log_a = np.log(rng.dirichlet(np.ones(n_states), n_states))
    log_b = np.log(rng.dirichlet(np.ones(n_symbols), n_states))
    log_pi = np.log(rng.dirichlet(np.ones(n_states)))
    obs = rng.integers(n_symbols, size=steps)

    def loglik(log_pi, log_a, log_b):
        log_alpha = log_pi + log_b[:, obs[0]]
        for o in obs[1:]:
            log_alpha = nn.logsumexp(log_alpha[:, None] + log_a, axis=0) + log_b[:, o]
        return nn.logsumexp(log_alpha)

    paths = np.array(list(np.ndindex(*(n_states,) * steps)))
    path_logp = (
        log_pi[paths[:, 0]]
        + log_a[paths[:, :-1], paths[:, 1:]].sum(axis=1)
        + log_b[paths, obs].sum(axis=1)
    )
    total = np.logaddexp.reduce(path_logp)
    np.testing.assert_allclose(loglik(log_pi, log_a, log_b), total, rtol=1e-12)
    # d loglik / d log pi_k is the posterior of starting in state k (the E step of EM),
    # d / d log A_ij the expected number of i -> j transitions
    g_pi, g_a = fg.jit(fg.grad(loglik, argnums=(0, 1)))(log_pi, log_a, log_b)
    post = np.exp(path_logp - total)
    np.testing.assert_allclose(g_pi, np.bincount(paths[:, 0], post, n_states), rtol=1e-10)
    counts = np.zeros((n_states, n_states))
    for t in range(steps - 1):
        np.add.at(counts, (paths[:, t], paths[:, t + 1]), post)
    np.testing.assert_allclose(g_a, counts, rtol=1e-10, atol=1e-14)
    check_grads(loglik, (log_pi, log_a, log_b), order=2)


# ---------------------------------------------------------------- higher derivatives


def _tanh_derivative_polynomials(order):
    """d^n tanh / dx^n as polynomials in t = tanh x: P_{n+1} = P_n' (1 - t^2)."""
    polys = [np.polynomial.Polynomial([0.0, 1.0])]
    for _ in range(order):
        polys.append(polys[-1].deriv() * np.polynomial.Polynomial([1.0, 0.0, -1.0]))
    return polys


@pytest.mark.parametrize("how", ["elementwise_grad", "grad_of_scalar", "jit"])
def test_tanh_derivatives_to_sixth_order_match_closed_forms(how):
    x = np.linspace(-3.0, 3.0, 13)
    polys = _tanh_derivative_polynomials(6)
    f = fnp.tanh
    for n in range(1, 7):
        if how == "grad_of_scalar":
            f = fg.grad(f)
            got = np.array([f(float(v)) for v in x[::3]])
            np.testing.assert_allclose(got, polys[n](np.tanh(x[::3])), rtol=1e-9, atol=1e-9)
            continue
        f = fg.elementwise_grad(f)
        got = fg.jit(f)(x) if how == "jit" else f(x)
        np.testing.assert_allclose(got, polys[n](np.tanh(x)), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- per-example gradients


def _logistic_loss(params, x, y):
    logit = fnp.dot(x, params["w"]) + params["b"]
    return fnp.logaddexp(0.0, -logit) * y + fnp.logaddexp(0.0, logit) * (1 - y)


def test_differentially_private_sgd_with_per_example_gradients():
    x, y = _digits(300, seed=2)
    keep = y < 2
    x, y = x[keep], y[keep].astype(np.float64)
    params = {"w": np.zeros(64), "b": np.array(0.0)}
    per_example = fg.vmap(fg.grad(lambda p, x, y: _logistic_loss(p, x, y)), in_axes=(None, 0, 0))
    looped = [fg.grad(_logistic_loss)(params, x[i], y[i]) for i in range(5)]
    batched = per_example(params, x[:5], y[:5])
    for i, g in enumerate(looped):
        np.testing.assert_allclose(batched["w"][i], g["w"], rtol=1e-12)
        np.testing.assert_allclose(batched["b"][i], g["b"], rtol=1e-12)
    clip, noise = 1.0, 0.5

    def clipped(params, xb, yb):
        grads = per_example(params, xb, yb)
        norms = fnp.sqrt(fnp.sum(grads["w"] ** 2, axis=1) + grads["b"] ** 2)
        factor = 1.0 / fnp.maximum(1.0, norms / clip)
        return fg.tree.map(lambda g: fnp.einsum("n...,n->n...", g, factor), grads)

    some = clipped(params, x[:20] * 10, y[:20])
    norms = np.sqrt(np.sum(some["w"] ** 2, axis=1) + some["b"] ** 2)
    assert np.all(norms <= clip + 1e-12) and np.any(norms > 0.99 * clip)

    @fg.jit
    def step(params, xb, yb, noise_w, noise_b):
        grads = clipped(params, xb, yb)
        n = xb.shape[0]
        w = (fnp.sum(grads["w"], axis=0) + noise * clip * noise_w) / n
        b = (fnp.sum(grads["b"]) + noise * clip * noise_b) / n
        return {"w": params["w"] - 0.5 * w, "b": params["b"] - 0.5 * b}

    rng = np.random.default_rng(11)
    for it in range(30):
        sl = slice((it * 20) % (len(x) - 20), None)
        params = step(
            params, x[sl][:20], y[sl][:20], rng.standard_normal(64), rng.standard_normal()
        )
    accuracy = np.mean(((x @ params["w"] + params["b"]) > 0) == (y > 0.5))
    assert accuracy > 0.95


# ---------------------------------------------------------------- kernels


def _rbf(a, b, lengthscale=1.0):
    return fnp.exp(-0.5 * fnp.sum((a - b) ** 2) / lengthscale**2)


def test_kernel_least_squares_by_gradient_descent_matches_the_linear_solve():
    rng = np.random.default_rng(12)
    x = rng.uniform(-2, 2, size=(25, 2))
    y = np.sin(x[:, 0]) * np.cos(x[:, 1])
    # the Gram matrix by nested vmap, against the broadcast formula
    gram = fg.vmap(fg.vmap(_rbf, in_axes=(None, 0)), in_axes=(0, None))(x, x)
    np.testing.assert_allclose(
        gram, np.exp(-0.5 * ((x[:, None] - x[None]) ** 2).sum(-1)), rtol=1e-12
    )
    reg = 0.1

    def objective(alpha):
        return 0.5 * fnp.dot(alpha, fnp.dot(gram + reg * fnp.eye(25), alpha)) - fnp.dot(alpha, y)

    opt = optim.sgd(0.05, momentum=0.9)
    alpha = np.zeros(25)
    state = opt.init(alpha)
    grad_fn = fg.jit(fg.grad(objective))
    for _ in range(1500):
        updates, state = opt.update(grad_fn(alpha), state, alpha)
        alpha = optim.apply_updates(alpha, updates)
    np.testing.assert_allclose(alpha, np.linalg.solve(gram + reg * np.eye(25), y), atol=1e-6)


def test_natural_gradient_with_a_fisher_from_the_jacobian():
    rng = np.random.default_rng(13)
    x = np.c_[rng.standard_normal((60, 2)) * [1.0, 10.0], np.ones(60)]  # badly scaled
    t = (x @ np.array([2.0, -0.3, 0.5]) + rng.standard_normal(60) > 0).astype(float)

    def log_probs(w):  # log p(class | x) for both classes, (60, 2)
        logit = fnp.dot(x, w)
        return fnp.stack([-fnp.logaddexp(0.0, logit), -fnp.logaddexp(0.0, -logit)], axis=1)

    def nll(w):
        return -fnp.mean(fnp.where(t > 0.5, log_probs(w)[:, 1], log_probs(w)[:, 0]))

    def fisher(w):
        jac = fg.jacobian(log_probs)(w)  # (60, 2, 3)
        p = np.exp(log_probs(w))
        return np.einsum("nc,nci,ncj->ij", p, jac, jac) / len(x)

    w = np.zeros(3)
    p1 = 1 / (1 + np.exp(-x @ w))
    np.testing.assert_allclose(fisher(w), (x.T * (p1 * (1 - p1))) @ x / len(x), rtol=1e-12)
    natural, plain = w.copy(), w.copy()
    for _ in range(10):
        natural = natural - np.linalg.solve(fisher(natural), fg.grad(nll)(natural))
        plain = plain - 0.01 * fg.grad(nll)(plain)  # larger steps diverge on the 10x column
    assert np.max(np.abs(fg.grad(nll)(natural))) < 1e-8
    assert float(nll(plain)) > float(nll(natural)) + 0.01


# ---------------------------------------------------------------- VAE


def _vae_neg_elbo(params, x, eps):
    """Per-pixel Bernoulli decoder, diagonal Gaussian encoder, closed-form KL to N(0, I)."""
    h = fnp.tanh(fnp.dot(x, params["enc"][0]) + params["enc"][1])
    stats = fnp.dot(h, params["enc_out"][0]) + params["enc_out"][1]
    latent = stats.shape[1] // 2
    mean, log_std = stats[:, :latent], stats[:, latent:]
    z = mean + fnp.exp(log_std) * eps
    h = fnp.tanh(fnp.dot(z, params["dec"][0]) + params["dec"][1])
    logits = fnp.dot(h, params["dec_out"][0]) + params["dec_out"][1]
    log_lik = -fnp.sum(fnp.logaddexp(0.0, fnp.where(x > 0.5, -logits, logits)), axis=1)
    kl = 0.5 * fnp.sum(mean**2 + fnp.exp(2 * log_std) - 1 - 2 * log_std, axis=1)
    return fnp.mean(kl - log_lik)


def _vae_init(rng, n_in, n_hidden, n_latent):
    def layer(m, n):
        return (rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))

    return {
        "enc": layer(n_in, n_hidden),
        "enc_out": layer(n_hidden, 2 * n_latent),
        "dec": layer(n_latent, n_hidden),
        "dec_out": layer(n_hidden, n_in),
    }


def test_vae_training_step_improves_the_elbo():
    x, _ = _digits(200, seed=3)
    x = (x > 0.5).astype(np.float64)
    rng = np.random.default_rng(14)
    small = _vae_init(rng, 6, 4, 2)
    check_grads(_vae_neg_elbo, (small, x[:3, :6], rng.standard_normal((3, 2))), order=1)
    params = _vae_init(rng, 64, 32, 2)
    opt = optim.adam(0.01)
    state = opt.init(params)

    @fg.jit
    def step(params, state, xb, key):
        eps = fg.random.normal(key, (xb.shape[0], 2), dtype=np.float64)
        value, grads = fg.value_and_grad(_vae_neg_elbo)(params, xb, eps)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    key = fg.random.key(0)
    eval_eps = rng.standard_normal((200, 2))
    first = float(_vae_neg_elbo(params, x, eval_eps))
    for it in range(150):
        key, sub = fg.random.split(key)
        params, state, _ = step(params, state, x[(it % 4) * 50 :][:50], sub)
    assert float(_vae_neg_elbo(params, x, eval_eps)) < first / 1.5


# ---------------------------------------------------------------- signals and dynamics


def _haar(x):
    """The orthonormal Haar wavelet transform of a length-2^k signal, by strided slices."""
    details = []
    while x.shape[0] > 1:
        even, odd = x[::2], x[1::2]
        details.insert(0, (even - odd) / fnp.sqrt(2.0))
        x = (even + odd) / fnp.sqrt(2.0)
    return fnp.concatenate([x] + details)


def test_haar_wavelet_denoising_by_a_sparsity_penalty():
    rng = np.random.default_rng(15)
    n = 32
    x = rng.standard_normal(n)
    basis = np.stack([_haar(e) for e in np.eye(n)], axis=1)  # the transform's matrix
    np.testing.assert_allclose(basis @ basis.T, np.eye(n), atol=1e-12)  # orthonormal
    np.testing.assert_allclose(fg.jacobian(_haar)(x), basis, atol=1e-12)
    clean = np.repeat([1.0, -0.5, 2.0, 0.0], n // 4)
    noisy = clean + 0.2 * rng.standard_normal(n)

    def objective(signal):  # data fit plus a smoothed L1 penalty on the coefficients
        coefficients = _haar(signal)
        return fnp.sum((signal - noisy) ** 2) + 0.3 * fnp.sum(fnp.sqrt(coefficients**2 + 1e-4))

    check_grads(objective, (noisy,), order=2)
    signal, grad_fn = noisy.copy(), fg.jit(fg.grad(objective))
    for _ in range(300):
        signal = signal - 0.05 * grad_fn(signal)
    assert np.sum((signal - clean) ** 2) < 0.6 * np.sum((noisy - clean) ** 2)


def test_sine_derivatives_cycle():
    x = np.linspace(-4.0, 4.0, 9)
    closed = [np.sin, np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v)]
    f = fnp.sin
    for n in range(1, 9):
        f = fg.elementwise_grad(f)
        np.testing.assert_allclose(f(x), closed[n % 4](x), atol=1e-12)


def _rk4(dynamics, params, y, dt, steps):
    """Fixed-step Runge-Kutta 4 in a Python loop, keeping every state."""
    states = [y]
    for _ in range(steps):
        k1 = dynamics(params, y)
        k2 = dynamics(params, y + 0.5 * dt * k1)
        k3 = dynamics(params, y + 0.5 * dt * k2)
        k4 = dynamics(params, y + dt * k3)
        y = y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(y)
    return fnp.stack(states)


def test_neural_ode_by_runge_kutta_fits_a_spiral():
    true_a = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    linear = lambda a, y: fnp.dot(y, a.T)  # noqa: E731
    y0 = np.array([[2.0, 0.0]])
    observed = _rk4(linear, true_a, y0, 0.05, 30)

    def mlp_dynamics(params, y):
        return fnp.dot(fnp.tanh(fnp.dot(y, params[0])), params[1])

    def loss(params):
        return fnp.mean((_rk4(mlp_dynamics, params, y0, 0.05, 30) - observed) ** 2)

    rng = np.random.default_rng(16)
    params = [0.3 * rng.standard_normal((2, 16)), 0.3 * rng.standard_normal((16, 2))]
    check_grads(
        lambda p: fnp.mean((_rk4(mlp_dynamics, p, y0, 0.1, 4) - observed[:5]) ** 2),
        (params,),
        order=1,
    )
    step = fg.jit(fg.value_and_grad(loss))
    opt = optim.adam(0.02)
    state = opt.init(params)
    first = float(step(params)[0])
    for _ in range(150):
        _, g = step(params)
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
    assert float(step(params)[0]) < first / 10


# ---------------------------------------------------------------- looking at the trace


def test_the_trace_of_a_function_and_of_its_gradient_can_be_printed():
    def f(x):
        return fnp.sum(fnp.tanh(x) * 2.0)

    graph = fg.make_graph(f)(np.ones(3))
    assert [e.prim.name for e in graph.eqns] == ["tanh", "mul", "reduce_sum"]
    backward = fg.make_graph(fg.grad(f))(np.ones(3))
    text = str(backward)
    assert "tanh" in text and "sub" in text  # 1 - tanh^2, from the derivative rule
    x = np.array([0.2, -1.0, 3.0])
    np.testing.assert_allclose(fg.grad(f)(x), 2 * (1 - np.tanh(x) ** 2), rtol=1e-12)


# ---------------------------------------------------------------- ensembles


def test_an_ensemble_trained_by_vmap_of_the_step_matches_separate_runs():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((50, 3))
    t = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(float)

    def loss(p):
        logit = x @ p["w"] + p["b"]
        return fnp.mean(fnp.logaddexp(0.0, logit) - t * logit)

    opt = optim.adam(0.1)

    def step(p, s):
        updates, s = opt.update(fg.grad(loss)(p), s, p)
        return optim.apply_updates(p, updates), s

    members = {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal(4)}
    params, states = members, fg.vmap(opt.init)(members)
    ensemble_step = fg.jit(fg.vmap(step))
    for _ in range(30):
        params, states = ensemble_step(params, states)
    for i in range(4):
        p = {"w": members["w"][i], "b": members["b"][i]}
        s = opt.init(p)
        for _ in range(30):
            p, s = step(p, s)
        np.testing.assert_allclose(params["w"][i], p["w"], rtol=1e-10)
        np.testing.assert_allclose(params["b"][i], p["b"], rtol=1e-10)
    assert max(float(loss({"w": params["w"][i], "b": params["b"][i]})) for i in range(4)) < 0.3


# ---------------------------------------------------------------- custom derivatives


@fg.custom_vjp
def _logsumexp(x):
    """autograd's define_gradient example: logsumexp with a hand-written gradient."""
    max_x = fnp.max(x)
    return max_x + fnp.log(fnp.sum(fnp.exp(x - max_x)))


def _logsumexp_fwd(x):
    ans = _logsumexp(x)
    return ans, (ans, x)


def _logsumexp_bwd(res, g):
    ans, x = res
    return (fnp.full(x.shape, g) * fnp.exp(x - ans),)


_logsumexp.defvjp(_logsumexp_fwd, _logsumexp_bwd)


def test_a_hand_written_gradient_is_used_and_matches_the_softmax():
    def example(x):
        return _logsumexp(fnp.sin(x)) * 2.0

    x = np.random.default_rng(0).standard_normal(5)
    s = np.exp(np.sin(x) - np.log(np.sum(np.exp(np.sin(x)))))
    np.testing.assert_allclose(fg.grad(example)(x), 2.0 * s * np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(example))(x), 2.0 * s * np.cos(x), rtol=1e-12)
    check_grads(example, (x,), order=2, modes=("rev",))  # grad of the hand-written grad


def _fixed_point(f, a, x0, distance, tol):
    """autograd's fixed_points example: iterate x = f(a)(x) to convergence; the gradient
    in ``a`` by implicit differentiation (a second fixed point, of the adjoint)."""
    x, x_prev = f(a)(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = f(a)(x), x
    return x


fixed_point = fg.custom_vjp(_fixed_point, nondiff_argnums=(0, 3, 4))


def _fixed_point_fwd(f, a, x0, distance, tol):
    x = fixed_point(f, a, x0, distance, tol)
    return x, (a, x)


def _fixed_point_bwd(f, distance, tol, res, g):
    a, x_star = res
    _, vjp_x = fg.vjp(lambda x: f(a)(x), x_star)
    _, vjp_a = fg.vjp(lambda a: f(a)(x_star), a)
    # w = g + w J_x (the adjoint fixed point), then the gradient is w J_a
    w, w_prev = g + vjp_x(g)[0], g
    while distance(w, w_prev) > tol:
        w, w_prev = g + vjp_x(w)[0], w
    return vjp_a(w)[0], fnp.zeros_like(x_star)


fixed_point.defvjp(_fixed_point_fwd, _fixed_point_bwd)


def test_implicit_differentiation_through_a_fixed_point():
    """Newton's iteration for sqrt(a): d sqrt(a) / da = 1 / (2 sqrt(a)), without
    differentiating through the iterations."""

    def newton_sqrt_iter(a):
        return lambda x: 0.5 * (x + a / x)

    def distance(x, y):
        return fnp.abs(x - y)

    def sqrt(a):
        return fixed_point(newton_sqrt_iter, a, 1.0, distance, 1e-12)

    assert np.isclose(sqrt(2.0), np.sqrt(2.0), rtol=1e-12)
    np.testing.assert_allclose(fg.grad(sqrt)(2.0), 0.5 / np.sqrt(2.0), rtol=1e-9)
    np.testing.assert_allclose(fg.grad(lambda a: sqrt(a) * a)(3.0), 1.5 * np.sqrt(3.0))
    # The rules loop until convergence, so they run on the values as the program runs;
    # they cannot be traced to differentiate again, and an error says so.
    with pytest.raises(TypeError, match="cannot be differentiated again"):
        fg.grad(fg.grad(sqrt))(2.0)
