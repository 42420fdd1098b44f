"""Whole-kernel templates: fused kernels the executor runs in one pass per element.

The register machine runs a fused kernel one operation at a time over blocks of 1024
elements: each operation is a pass over its operands' blocks, and each output a copy. For
the commonest kernels of a network that is most of their time, so the executor also has one
loop for each of them, which computes the whole kernel per element and writes its outputs
in place:

- ``activation``: s = x + b (b optional, broadcast like any operand); out = s > 0 ? s : s * a
  (leaky_relu) or 0 (relu); optionally the mask s > 0 as bools (saved for the gradient);
- ``activation_grad``: out = mask ? g : g * a (or 0), the mask bools; optionally reductions
  of out (the bias gradient).

A kernel is recognised from what its code computes, not from how its registers were
assigned. Its reference is the register machine: tests run every template both ways.
"""

import numpy as np

from .isa import TEMPLATE_KINDS


def _expressions(code):
    """What each register holds after ``code``, and what each reduction reduces, as nested
    tuples: ("load", input), ("const", value), (op, operands...); None for an operation no
    template uses."""
    regs, reduced = {}, []
    for op, dst, a, b, c in code:
        if op == "load":
            regs[dst] = ("load", a)
        elif op == "const":
            regs[dst] = ("const", a)
        elif op == "reduce":
            reduced.append(regs.get(a))
        elif op in ("add", "mul", "gt"):
            regs[dst] = (op, regs.get(a), regs.get(b))
        elif op == "select":
            regs[dst] = (op, regs.get(a), regs.get(b), regs.get(c))
        else:
            regs[dst] = None
    return regs, reduced


def _is_zero(e):
    return e is not None and e[0] == "const" and e[1] == 0


def _slope(value, negative):
    """The slope a of ``negative`` == value * a, None if it is the constant 0 (relu), else
    False (not an activation of ``value``)."""
    if _is_zero(negative):
        return None
    if negative is not None and negative[0] == "mul":
        x, y = negative[1:]
        k = y if x == value else x if y == value else None
        if k is not None and k[0] == "const":
            return k[1]
    return False


def match(kernel):
    """The executor's template for a fused kernel (an instructions.Fused), or None: (kind,
    input a, input b or -1, slope or None, output of the result, output of the mask or -1)."""
    shape, inputs, outs = kernel.shape, kernel.inputs, kernel.outputs
    dense = list(np.cumprod([1, *shape[::-1]])[:-1][::-1]) if shape else []
    in_place = [list(i.strides) == dense or not shape for i in inputs]
    regs, reduced = _expressions(kernel.code)
    values = [regs.get(o.register) for o in outs]
    floats = [k for k, o in enumerate(outs) if o.view.dtype != np.bool_]
    if len(floats) != 1 or len(outs) > 2:
        return None
    result = values[floats[0]]
    if result is None or result[0] != "select":
        return None
    cond, positive, negative = result[1:]
    if cond is None or positive is None:
        return None
    slope = _slope(positive, negative)
    if slope is False:
        return None
    bools = [k for k in range(len(outs)) if k not in floats]
    if cond[0] == "gt" and _is_zero(cond[2]) and cond[1] == positive and not kernel.reductions:
        if bools and values[bools[0]] != cond:  # the other output: the mask
            return None
        x, b = _summands(positive, inputs, in_place)
        if x is None:
            return None
        return TEMPLATE_KINDS["activation"], x, b, slope, floats[0], bools[0] if bools else -1
    mask_input = cond[1] if cond[0] == "load" else None
    if (
        mask_input is not None
        and not bools
        and inputs[mask_input].view.dtype == np.bool_
        and in_place[mask_input]
        and positive[0] == "load"
        and inputs[positive[1]].view.dtype != np.bool_
        and in_place[positive[1]]
        and all(r == result for r in reduced)
    ):
        return TEMPLATE_KINDS["activation_grad"], positive[1], mask_input, slope, floats[0], -1
    return None


def _summands(value, inputs, in_place):
    """(x, b) for value == x + b (b == -1: value == x), x a float input laid out like the
    iteration and b any float input; (None, None) otherwise."""
    if value[0] == "load":
        loads = [value[1], -1]
    elif value[0] == "add" and all(v is not None and v[0] == "load" for v in value[1:]):
        loads = [value[1][1], value[2][1]]
        if not in_place[loads[0]]:
            loads.reverse()
    else:
        return None, None
    x, b = loads
    if not in_place[x] or any(inputs[k].view.dtype == np.bool_ for k in loads if k >= 0):
        return None, None
    return x, b
