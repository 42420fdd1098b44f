"""Transformations of transformations, as optax's: apply one to part of the parameters
(``masked``, ``multi_transform``), accumulate gradients over steps (``MultiSteps``,
``apply_every``), and put hyperparameters in the state (``inject_hyperparams``).

>>> import numpy as np
>>> from funcgrad import optim
>>> params = {"w": np.ones(2), "b": np.ones(1)}
>>> opt = optim.multi_transform({"fast": optim.sgd(1.0), "frozen": optim.scale(0.0)},
...                             {"w": "fast", "b": "frozen"})
>>> updates, state = opt.update({"w": np.ones(2), "b": np.ones(1)}, opt.init(params), params)
>>> updates
{'b': array([0.]), 'w': array([-1., -1.])}
"""

import functools
import inspect
import numbers
from typing import Any, NamedTuple

import numpy as np

from .. import lax, tree
from .. import numpy as fnp
from ..errors import user_frame
from .transforms import (
    GradientTransformation,
    _cast,
    _check_state,
    _increment,
    _map,
    _zeros_count,
)

__all__ = [
    "ApplyEvery",
    "InjectHyperparamsState",
    "MaskedState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "apply_every",
    "inject_hyperparams",
    "masked",
    "multi_transform",
]


class MaskedState(NamedTuple):
    inner_state: Any


class MultiTransformState(NamedTuple):
    inner_states: Any  # a dict: label -> MaskedState


class MultiStepsState(NamedTuple):
    mini_step: Any  # int32: gradients accumulated since the last update
    gradient_step: Any  # int32: updates applied so far
    inner_opt_state: Any
    acc_grads: Any


class ApplyEvery(NamedTuple):
    count: Any
    grad_acc: Any


class InjectHyperparamsState(NamedTuple):
    count: Any
    hyperparams: Any  # a dict: name -> the value used by the last update (or init)
    inner_state: Any


# ---------------------------------------------------------------- masks


def _mask_leaves(where, mask, like):
    """The mask's booleans, one per leaf of ``like`` (``mask`` is a pytree of bools of
    ``like``'s structure, or a function of ``like`` returning one)."""
    mask = mask(like) if callable(mask) else mask
    like_leaves, like_def = tree.flatten(like)
    mask_leaves, mask_def = tree.flatten(mask)
    if mask_def != like_def:
        raise tree.StructureError(
            f"{where}: the mask is {tree._describe(mask_def)} but the updates are "
            f"{tree._describe(like_def)} {tree._where_differ(mask_def, like_def)} at {user_frame()}"
        )
    for m in mask_leaves:
        if not isinstance(m, (bool, np.bool_)):
            raise TypeError(f"{where}: mask leaves must be bools, got {m!r} at {user_frame()}")
    return like_leaves, like_def, [bool(m) for m in mask_leaves]


def _keep(leaves, treedef, keep):
    """The tree with the leaves not kept replaced by None (an empty subtree)."""
    return treedef.unflatten([x if k else None for x, k in zip(leaves, keep)])


def masked(inner, mask):
    """Apply ``inner`` to the leaves where ``mask`` is True; the other updates pass
    through unchanged (and ``inner`` keeps no state for them).

    Args:
        inner: a GradientTransformation.
        mask: a pytree of bools with the params' structure, or a function from the
            params (at init) or the updates (at update) to one.

    >>> import numpy as np
    >>> from funcgrad import optim
    >>> opt = optim.masked(optim.scale(-1.0), {"w": True, "b": False})
    >>> g = {"w": np.ones(2), "b": np.ones(1)}
    >>> opt.update(g, opt.init(g))[0]
    {'b': array([1.]), 'w': array([-1., -1.])}
    """

    def init(params):
        leaves, treedef, keep = _mask_leaves("masked.init", mask, params)
        return MaskedState(inner.init(_keep(leaves, treedef, keep)))

    def update(updates, state, params=None):
        _check_state("masked.update", state, MaskedState)
        leaves, treedef, keep = _mask_leaves("masked.update", mask, updates)
        inner_params = None
        if params is not None:
            p_leaves, p_def = tree.flatten(params)
            _map("masked.update", lambda u, p: u, updates, params, "params")
            inner_params = _keep(p_leaves, p_def, keep)
        new, inner_state = inner.update(
            _keep(leaves, treedef, keep), state.inner_state, inner_params
        )
        new_leaves = iter(tree.leaves(new))
        merged = [next(new_leaves) if k else x for x, k in zip(leaves, keep)]
        return treedef.unflatten(merged), MaskedState(inner_state)

    return GradientTransformation(init, update)


def multi_transform(transforms, param_labels):
    """A different transformation for each group of parameters, as optax's.

    Args:
        transforms: a dict from label to GradientTransformation.
        param_labels: a pytree of labels with the params' structure, or a function from
            the params (or updates) to one.
    """

    def labels_of(where, like):
        labels = param_labels(like) if callable(param_labels) else param_labels
        unknown = sorted(set(tree.leaves(labels)) - set(transforms), key=str)
        if unknown:
            raise ValueError(
                f"{where}: labels {unknown} have no transformation (labels: "
                f"{sorted(transforms, key=str)}) at {user_frame()}"
            )
        return labels

    def masks(labels):
        return {k: tree.map(lambda label, k=k: label == k, labels) for k in transforms}

    def init(params):
        per_label = masks(labels_of("multi_transform.init", params))
        return MultiTransformState(
            {k: masked(t, per_label[k]).init(params) for k, t in transforms.items()}
        )

    def update(updates, state, params=None):
        _check_state("multi_transform.update", state, MultiTransformState)
        per_label = masks(labels_of("multi_transform.update", updates))
        new_states = {}
        for k, t in transforms.items():
            updates, new_states[k] = masked(t, per_label[k]).update(
                updates, state.inner_states[k], params
            )
        return updates, MultiTransformState(new_states)

    return GradientTransformation(init, update)


# ---------------------------------------------------------------- accumulation


def apply_every(k=1):
    """Accumulate (sum) the updates and emit the sum every ``k`` steps, zeros in between
    (optax's ``apply_every``; chain it after the optimizer).

    >>> import numpy as np
    >>> t = apply_every(2)
    >>> state = t.init({"a": np.zeros(1)})
    >>> first, state = t.update({"a": np.ones(1)}, state)
    >>> second, state = t.update({"a": np.ones(1)}, state)
    >>> first, second
    ({'a': array([0.])}, {'a': array([2.])})
    """

    def init(params):
        return ApplyEvery(_zeros_count(), tree.map(fnp.zeros_like, params))

    def update(updates, state, params=None):
        _check_state("apply_every.update", state, ApplyEvery)
        c = state.count % k
        acc = _map(
            "apply_every.update",
            lambda g, a: _cast(fnp.where(c != 0, a, 0) + g, a),
            updates,
            state.grad_acc,
            "state.grad_acc",
        )
        emit = c == k - 1
        out = tree.map(lambda a: fnp.where(emit, a, fnp.zeros_like(a)), acc)
        return out, ApplyEvery(_increment(state.count) % k, acc)

    return GradientTransformation(init, update)


class MultiSteps:
    """Gradient accumulation, as optax's ``MultiSteps``: the inner optimizer updates once
    every ``every_k_schedule`` calls, with the mean (or, ``use_grad_mean=False``, the sum)
    of the gradients passed since; in between the updates are zeros. The inner update runs
    in a ``lax.cond``, so only on the steps that apply it.

    ``every_k_schedule`` is an int or a function of the number of updates applied so far.
    Use ``.init`` and ``.update`` directly or ``.gradient_transformation()``;
    ``has_updated(state)`` says whether the last call applied an update.

    >>> import numpy as np
    >>> from funcgrad import optim
    >>> opt = optim.MultiSteps(optim.sgd(1.0), every_k_schedule=2)
    >>> state = opt.init({"w": np.zeros(1)})
    >>> u1, state = opt.update({"w": np.array([1.0])}, state)
    >>> u2, state = opt.update({"w": np.array([3.0])}, state)
    >>> u1["w"], u2["w"]  # the second applies -1.0 * mean(1, 3)
    (array([0.]), array([-2.]))
    """

    def __init__(self, opt, every_k_schedule, use_grad_mean=True):
        self.opt = opt
        self.use_grad_mean = use_grad_mean
        if isinstance(every_k_schedule, numbers.Integral):
            if every_k_schedule < 1:
                raise ValueError(
                    f"MultiSteps: every_k_schedule must be >= 1, got {every_k_schedule} at "
                    f"{user_frame()}"
                )
            k = int(every_k_schedule)
            self.every_k_schedule = lambda step: k
        else:
            self.every_k_schedule = every_k_schedule

    def init(self, params):
        zeros = tree.map(fnp.zeros_like, params)
        return MultiStepsState(_zeros_count(), _zeros_count(), self.opt.init(params), zeros)

    def update(self, updates, state, params=None):
        where = "MultiSteps.update"
        _check_state(where, state, MultiStepsState)
        n = state.mini_step

        def accumulate(g, a):
            if self.use_grad_mean:
                return _cast((g + n * a) / (n + 1), a)
            return _cast(g + a, a)

        acc = _map(where, accumulate, updates, state.acc_grads, "state.acc_grads")
        k = self.every_k_schedule(state.gradient_step)

        def apply(acc, inner_state, params):
            new, inner_state = self.opt.update(acc, inner_state, params)
            new = tree.map(_cast, new, acc)
            zeros = tree.map(fnp.zeros_like, acc)
            return new, MultiStepsState(
                np.zeros((), np.int32), _increment(state.gradient_step), inner_state, zeros
            )

        def wait(acc, inner_state, params):
            zeros = tree.map(fnp.zeros_like, acc)
            return zeros, MultiStepsState(_increment(n), state.gradient_step, inner_state, acc)

        last = n >= k - 1
        return lax.cond(last, apply, wait, acc, state.inner_opt_state, params)

    def has_updated(self, state):
        """True if the last ``update`` applied the inner optimizer."""
        return fnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self):
        return GradientTransformation(self.init, self.update)


# ---------------------------------------------------------------- hyperparameters


def _float_like(value, dtype):
    """Python floats (and float arrays) in ``dtype``, other values as they are."""
    if isinstance(value, bool) or dtype is None:
        return value
    if isinstance(value, float) or np.dtype(getattr(value, "dtype", np.int64)).kind == "f":
        return fnp.astype(value, dtype)
    return value


def inject_hyperparams(inner_factory, static_args=(), hyperparam_dtype=None):
    """Wrap an optimizer factory so that its numeric hyperparameters live in the state
    (``state.hyperparams["learning_rate"]``: read it, or replace it between steps) and
    schedules given for any of them are evaluated at each step, as optax's.

    Args:
        inner_factory: e.g. ``adam``; called with the current hyperparameters.
        static_args: names of arguments kept as given (callables that are not schedules).
        hyperparam_dtype: the dtype of float hyperparameters; default the first leaf's of
            the params (at init) and the updates (at update).

    >>> import numpy as np
    >>> from funcgrad import optim
    >>> opt = optim.inject_hyperparams(optim.sgd)(learning_rate=lambda count: 0.1 * (count + 1))
    >>> state = opt.init({"w": np.zeros(1)})
    >>> for _ in range(3):
    ...     updates, state = opt.update({"w": np.ones(1)}, state)
    >>> updates["w"], float(state.hyperparams["learning_rate"])
    (array([-0.3]), 0.30000000000000004)
    """
    static = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    if not static <= set(signature.parameters):
        raise ValueError(
            f"inject_hyperparams: static_args {sorted(static)} are not all parameters of "
            f"{getattr(inner_factory, '__name__', inner_factory)} at {user_frame()}"
        )

    @functools.wraps(inner_factory)
    def wrapped(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        scheduled, numeric, other = {}, {}, {}
        for name, value in bound.arguments.items():
            if name in static or isinstance(value, (bool, np.bool_)) or value is None:
                other[name] = value
            elif callable(value):
                scheduled[name] = value
            elif isinstance(value, numbers.Number) or hasattr(value, "dtype"):
                numeric[name] = value
            else:
                other[name] = value

        def dtype_of(trees):
            if hyperparam_dtype is not None:
                return np.dtype(hyperparam_dtype)
            first = next(iter(tree.leaves(trees)), None)
            kind = np.dtype(getattr(first, "dtype", np.float64))
            return kind if kind.kind == "f" else None

        def evaluated(count, dtype):
            return {k: _float_like(f(count), dtype) for k, f in scheduled.items()}

        def init(params):
            dtype = dtype_of(params)
            count = _zeros_count()
            hparams = {k: fnp.asarray(_float_like(v, dtype)) for k, v in numeric.items()}
            hparams.update(evaluated(count, dtype))
            return InjectHyperparamsState(
                count, hparams, inner_factory(**other, **hparams).init(params)
            )

        def update(updates, state, params=None):
            _check_state("inject_hyperparams.update", state, InjectHyperparamsState)
            dtype = dtype_of(updates)
            hparams = {k: _float_like(v, dtype) for k, v in state.hyperparams.items()}
            hparams.update(evaluated(state.count, dtype))
            updates, inner_state = inner_factory(**other, **hparams).update(
                updates, state.inner_state, params
            )
            return updates, InjectHyperparamsState(_increment(state.count), hparams, inner_state)

        return GradientTransformation(init, update)

    return wrapped
