"""The tracing core: typed variables, equations, immutable graphs, tracers and ``bind``.

Calling a primitive with tracers appends one :class:`Eqn` to the innermost active
:class:`Builder`; with plain arrays (no active builder) it computes at once with the
primitive's NumPy reference implementation. A finished builder yields a :class:`Graph`.
"""

import threading

import numpy as np

from .errors import (
    ConcretizationError,
    DtypeError,
    FuncgradError,
    TracerLeakError,
    located,
    user_frame,
)

_DTYPE_NAMES = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "bool",
    "complex64": "c64",
    "complex128": "c128",
}


def aval_str(shape, dtype):
    """``f32[3,4]`` for shape (3, 4) and dtype float32."""
    name = _DTYPE_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)
    return f"{name}[{','.join(map(str, shape))}]"


def native(dtype):
    """``dtype`` in this machine's byte order: graphs and kernels know no other (arrays
    in the other order are converted where they enter a program)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biufc":  # strings, objects, dates, records, bfloat16 (ml_dtypes)...
        raise DtypeError(
            f"funcgrad computes on bool, integer, floating-point (float16, float32, float64) "
            f"and complex arrays, not on dtype {dtype.name} ({dtype.str}): convert with "
            f".astype(np.float32) or keep the value out of the traced function (at {user_frame()})"
        )
    return dtype if dtype.isnative else dtype.newbyteorder("=")


class Var:
    """A typed SSA variable: every value in a graph is one, assigned exactly once.

    ``weak`` marks a value that came from a Python scalar: like a Python scalar it
    adopts the dtype of the arrays it is combined with.
    """

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape, dtype, weak=False):
        self.shape = tuple(shape)
        self.dtype = native(dtype)
        self.weak = weak

    def __repr__(self):
        return f"Var({aval_str(self.shape, self.dtype)})"


class Literal:
    """A scalar constant written inline in an equation."""

    __slots__ = ("value",)
    shape = ()

    def __init__(self, value):
        value = np.asarray(value)
        self.value = value if value.dtype.isnative else value.astype(native(value.dtype))

    @property
    def dtype(self):
        return self.value.dtype

    def key(self):
        return (self.value.dtype.str, self.value.tobytes())

    def __repr__(self):
        return f"{self.value.item()!r}:{aval_str((), self.dtype)}"


class Params(dict):
    """A primitive's static parameters: an immutable, hashable dict."""

    __slots__ = ()

    def __hash__(self):
        return hash(tuple(sorted(self.items())))

    def _immutable(self, *args, **kwargs):
        raise TypeError("Params are immutable")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _immutable


class Eqn(tuple):
    """One equation ``outputs = primitive[params](*inputs)``."""

    __slots__ = ()

    def __new__(cls, prim, inputs, outputs, params):
        return tuple.__new__(cls, (prim, tuple(inputs), tuple(outputs), Params(params)))

    prim = property(lambda self: self[0])
    inputs = property(lambda self: self[1])
    outputs = property(lambda self: self[2])
    params = property(lambda self: self[3])


# What a primitive may declare of itself (Primitive.traits), a closed set:
#   elementwise: each output element depends on the same element of each (broadcast) operand
#   unary, binary: the number of array operands of an elementwise primitive
#   comparison: an elementwise predicate, bool-valued
#   float_only: refuses integer and bool operands
#   linear: linear in all its array operands together (its JVP is itself on the tangents)
#   commutative: f(x, y) == f(y, x)
#   reduction: reduces its operand over params["axes"]
# "call": the equation evaluates the graph ``params["fun"]`` on its inputs and returns its
# output ``params["index"]`` (custom derivatives); :func:`inline_calls` expands it.
TRAITS = frozenset(
    "elementwise unary binary comparison float_only linear commutative reduction call".split()
)
# The kinds of instruction the compiler may lower a primitive to (Primitive.lowering), tried
# in the declared order; an equation none of them takes runs the NumPy reference.
LOWERINGS = frozenset(
    "fused int view gemm reduce softmax fill copy indexed cast argmax random_bits conv "
    "lapack".split()
)


class Primitive:
    """One record per primitive operation (see ``primitives/`` for the registry).

    Attributes:
      name: the name printed in graphs.
      abstract_eval: ``(*avals, **params) -> (shape, dtype)``; raises on bad operands.
      impl: ``(*ndarrays, **params) -> ndarray``, the NumPy reference implementation.
      vjp: ``(g, ans, *args, **params) -> cotangents`` (one per arg, None for zero),
        written with funcgrad operations so backward graphs are graphs.
      jvp: ``(tangents, ans, *args, **params) -> tangent or None``; ``tangents`` holds
        None where an argument's tangent is zero.
      batch: ``(batched, *args, **params) -> result batched at axis 0``, called by vmap
        when some operand is batched (``batched[k]``: operand k has the batch at axis 0).
      traits: a frozenset of :data:`TRAITS`.
      kernel: the name of its operation in the executor's tables (``vm_ops.h`` for
        elementwise operations, the reduction, softmax and convolution kinds), or None.
      lowering: the instruction kinds (:data:`LOWERINGS`) it may be lowered to, in order.
      multiple_results: the primitive returns a list of arrays (loops and conditionals:
        their carries and stacked outputs). Then ``abstract_eval`` returns a list of
        ``(shape, dtype)``, ``impl`` a list of arrays, ``jvp`` a list of tangents (None for
        zero), ``batch`` a list of results each batched at axis 0, and ``vjp`` is one
        function ``(cotangents, results, operands, wanted, **params) -> cotangents``: lists
        (a cotangent None for zero; ``wanted[k]``: operand k's cotangent is needed).
    """

    __slots__ = (
        "name",
        "abstract_eval",
        "impl",
        "vjp",
        "jvp",
        "batch",
        "traits",
        "kernel",
        "lowering",
        "multiple_results",
    )

    def __init__(
        self,
        name,
        abstract_eval,
        impl,
        vjp=None,
        jvp=None,
        batch=None,
        traits=(),
        kernel=None,
        lowering=(),
        multiple_results=False,
    ):
        unknown = (set(traits) - TRAITS) | (set(lowering) - LOWERINGS)
        if unknown:
            raise ValueError(f"primitive {name}: unknown traits or lowerings {sorted(unknown)}")
        self.name = name
        self.abstract_eval = abstract_eval
        self.impl = impl
        self.vjp = vjp
        self.jvp = jvp
        self.batch = batch
        self.traits = frozenset(traits)
        self.kernel = kernel
        self.lowering = tuple(lowering)
        self.multiple_results = multiple_results

    def __call__(self, *args, **params):
        return bind(self, *args, **params)

    def __repr__(self):
        return self.name


def _var_names():
    """a, b, ..., z, ba, bb, ...: the jaxpr naming scheme."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    n = 0
    while True:
        name, k = "", n
        while True:
            name = letters[k % 26] + name
            k //= 26
            if k == 0:
                break
        yield name
        n += 1


def _format_param(value):
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, Graph):  # a called graph: nested below its equation, jaxpr-style
        return value.pretty().replace("\n", "\n" + " " * 8)
    if isinstance(value, tuple) and value and all(isinstance(v, Graph) for v in value):
        return "(" + ", ".join(map(_format_param, value)) + ")"  # a conditional's branches
    return repr(value)


def _subgraphs(params):
    """``(name, graph)`` of every graph among an equation's parameters."""
    for key, value in sorted(params.items()):
        if isinstance(value, Graph):
            yield key, value
        elif isinstance(value, tuple) and value and all(isinstance(v, Graph) for v in value):
            yield from ((f"{key}[{k}]", v) for k, v in enumerate(value))


class Graph:
    """An immutable, topologically ordered SSA graph of equations.

    ``constvars`` are inputs whose values (``consts``) were captured at trace time:
    arrays the function closed over, hoisted out so the graph stays small. Equality and
    hashing are structural: constants' shapes and dtypes count, their values do not,
    so a compiled program can be cached by graph and fed fresh constants.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> print(fg.make_graph(lambda x: fnp.sum(x * x))(fnp.ones(3)))
    { lambda ; a:f64[3]. let
        b:f64[3] = mul a a
        c:f64[] = reduce_sum[axes=(0,)] b
      in (c,) }
    """

    __slots__ = ("constvars", "invars", "eqns", "outvars", "consts", "_key", "_hash")

    def __init__(self, constvars, invars, eqns, outvars, consts=()):
        self.constvars = tuple(constvars)
        self.invars = tuple(invars)
        self.eqns = tuple(eqns)
        self.outvars = tuple(outvars)
        self.consts = tuple(consts)
        self._key = None
        self._hash = None

    def key(self):
        """The structure as nested tuples, with variables numbered canonically."""
        if self._key is None:
            index = {}
            for v in self.constvars + self.invars:
                index[v] = len(index)

            def code(atom):
                return index[atom] if isinstance(atom, Var) else atom.key()

            eqns = []
            for e in self.eqns:
                for v in e.outputs:
                    index[v] = len(index)
                outs = tuple((v.shape, v.dtype) for v in e.outputs)
                eqns.append((e.prim.name, tuple(map(code, e.inputs)), outs, e.params))
            sig = tuple((v.shape, v.dtype, v.weak) for v in self.constvars + self.invars)
            self._key = (len(self.constvars), sig, tuple(eqns), tuple(map(code, self.outvars)))
        return self._key

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(self.key())
        return self._hash

    def __eq__(self, other):
        return isinstance(other, Graph) and (self is other or self.key() == other.key())

    def __repr__(self):
        return self.pretty()

    def pretty(self):
        names = {}
        fresh = _var_names()

        def decl(v):
            names[v] = next(fresh)
            return f"{names[v]}:{aval_str(v.shape, v.dtype)}"

        def use(atom):
            return names[atom] if isinstance(atom, Var) else repr(atom)

        consts = " ".join(decl(v) for v in self.constvars)
        ins = " ".join(decl(v) for v in self.invars)
        lines = [f"{{ lambda {consts}; {ins}. let"]
        for e in self.eqns:
            outs = " ".join(decl(v) for v in e.outputs)
            params = ""
            if e.params:
                items = ", ".join(f"{k}={_format_param(v)}" for k, v in sorted(e.params.items()))
                params = f"[{items}]"
            args = " ".join(use(a) for a in e.inputs)
            lines.append(f"    {outs} = {e.prim.name}{params} {args}".rstrip())
        outs = ", ".join(use(a) for a in self.outvars)
        lines.append(f"  in ({outs},) }}")
        return "\n".join(lines)

    __str__ = pretty

    def to_dot(self, name="funcgrad"):
        """The graph in Graphviz DOT: a box per equation, an ellipse per input; the graphs
        a loop, conditional or call holds drawn as clusters beside its box."""
        lines = [f"digraph {name} {{", "  rankdir=TB;", '  node [fontname="monospace"];']
        self._dot(lines, "", "  ")
        lines.append("}")
        return "\n".join(lines)

    def _dot(self, lines, prefix, indent):
        ids = {}
        for kind, vars_ in (("const", self.constvars), ("in", self.invars)):
            for v in vars_:
                ids[v] = f"{prefix}v{len(ids)}"
                label = f"{kind} {len(ids) - 1}\\n{aval_str(v.shape, v.dtype)}"
                lines.append(f'{indent}{ids[v]} [shape=ellipse, label="{label}"];')
        for i, e in enumerate(self.eqns):
            node = f"{prefix}e{i}"
            avals = " ".join(aval_str(v.shape, v.dtype) for v in e.outputs)
            lines.append(f'{indent}{node} [shape=box, label="{e.prim.name}\\n{avals}"];')
            for a in e.inputs:
                if isinstance(a, Var):
                    lines.append(f"{indent}{ids[a]} -> {node};")
                else:
                    lit = f"{prefix}l{i}_{len(lines)}"
                    lines.append(f'{indent}{lit} [shape=plaintext, label="{a!r}"];')
                    lines.append(f"{indent}{lit} -> {node};")
            for k, (key, sub) in enumerate(_subgraphs(e.params)):
                inner = f"{node}g{k}_"
                lines.append(f"{indent}subgraph cluster_{inner} {{")
                lines.append(f'{indent}  label="{e.prim.name} {key}"; style=dashed;')
                sub._dot(lines, inner, indent + "  ")
                lines.append(f"{indent}}}")
                if sub.outvars:
                    lines.append(f"{indent}{inner}out0 -> {node} [style=dotted];")
            for v in e.outputs:
                ids[v] = node
        for k, a in enumerate(self.outvars):
            lines.append(f'{indent}{prefix}out{k} [shape=doublecircle, label="out {k}"];')
            if isinstance(a, Var):
                lines.append(f"{indent}{ids[a]} -> {prefix}out{k};")


def dce(graph):
    """Drop equations whose outputs no output depends on (one reverse walk, no recursion).

    Inputs are kept even when unused, so the calling convention does not change.
    """
    live = {a for a in graph.outvars if isinstance(a, Var)}
    kept = []
    for eqn in reversed(graph.eqns):
        if any(v in live for v in eqn.outputs):
            kept.append(eqn)
            live.update(a for a in eqn.inputs if isinstance(a, Var))
    if len(kept) == len(graph.eqns):
        return graph
    kept.reverse()
    return Graph(graph.constvars, graph.invars, kept, graph.outvars, graph.consts)


def inline_calls(graph):
    """``graph`` with every "call" equation replaced by the equations of the graph it
    calls (nested calls too), so programs run them as ordinary equations; the copies that
    several outputs of one call make are merged later by CSE."""
    if not any("call" in e.prim.traits for e in graph.eqns):
        return graph
    subst = {}

    def read(atom):
        return subst.get(atom, atom) if isinstance(atom, Var) else atom

    eqns, todo = [], [(e, None) for e in reversed(graph.eqns)]
    while todo:  # (equation, renaming of its variables); a stack, not recursion
        e, names = todo.pop()
        if names is None:
            inputs = [read(a) for a in e.inputs]
        else:
            inputs = [names.get(a, a) if isinstance(a, Var) else a for a in e.inputs]
        if "call" in e.prim.traits:
            fun = e.params["fun"]
            inner = dict(zip(fun.invars, inputs))
            for v in (v for sub in fun.eqns for v in sub.outputs):
                inner[v] = Var(v.shape, v.dtype, v.weak)
            result = fun.outvars[e.params["index"]]
            target = inner.get(result, result) if isinstance(result, Var) else result
            out = e.outputs[0]
            if names is None:
                subst[out] = target
            else:
                names[out] = target
            todo.extend((sub, inner) for sub in reversed(fun.eqns))
            continue
        outputs = list(e.outputs)
        if names is not None:
            outputs = [names[v] for v in e.outputs]
        eqns.append(Eqn(e.prim, inputs, outputs, e.params))
    outvars = [read(a) for a in graph.outvars]
    return Graph(graph.constvars, graph.invars, eqns, outvars, graph.consts)


class Tracer:
    """Stands for an array while a function is traced; records what is done to it.

    Operators, ``.T``, ``.reshape`` and friends are installed by ``funcgrad.numpy``.
    """

    __slots__ = ("variable", "builder")
    __array_priority__ = 1000

    def __init__(self, var, builder):
        self.variable = var
        self.builder = builder

    shape = property(lambda self: self.variable.shape)
    dtype = property(lambda self: self.variable.dtype)
    ndim = property(lambda self: len(self.variable.shape))
    size = property(lambda self: int(np.prod(self.variable.shape, dtype=np.int64)))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def concrete(self, why):
        """The value this tracer stands for, or a ConcretizationError explaining why not."""
        if not self.builder.active:
            raise TracerLeakError(
                f"a traced {aval_str(self.shape, self.dtype)} value was used after the "
                f"transformation that created it returned ({why}) at {user_frame()}: "
                "return it from the function instead of storing it"
            )
        return self.builder.value(self.variable, why)

    def __bool__(self):
        return bool(self.concrete("Python bool"))

    def __int__(self):
        return int(self.concrete("Python int"))

    def __float__(self):
        return float(self._number("float()"))

    def __complex__(self):
        return complex(self._number("complex()"))

    def __index__(self):
        return int(self.concrete("index or size").__index__())

    def item(self):
        return self._number("item()").item()

    def tolist(self):
        return self._number("tolist()").tolist()

    def _number(self, why):
        """The value as Python numbers: refused for floats, whose Python numbers would
        carry no gradient (concrete traces are differentiated: the result would be
        silently wrong, where JAX and autograd raise). Integers and bools have none."""
        if self.dtype.kind in "fc":
            raise ConcretizationError(
                f"{why} of a traced {aval_str(self.shape, self.dtype)} value at "
                f"{user_frame()}: a Python number would carry no gradient. Compute with "
                "funcgrad.numpy functions (fnp.exp, not math.exp), and return values to "
                "print or log them (has_aux=True)"
            )
        return self.concrete(why)

    def __array__(self, dtype=None, copy=None):
        raise ConcretizationError(
            f"a traced {aval_str(self.shape, self.dtype)} value was converted to a NumPy "
            f"array at {user_frame()}: inside grad/jit use funcgrad.numpy (fnp) "
            "functions, not numpy ones, so the operation is traced (a NumPy array indexed "
            "by a traced index: fnp.take(array, index))"
        )

    __hash__ = None

    def __repr__(self):
        return f"Traced<{aval_str(self.shape, self.dtype)}>"


class Builder:
    """Records the equations of one trace; becomes a Graph with :meth:`build`.

    Inputs carry an optional *source*: the concrete array (or outer tracer) they stand
    for. Values are computed lazily, only when Python asks for one (``if x > 0:``),
    so tracing does no numeric work unless control flow needs it.
    """

    def __init__(self):
        self.eqns = []
        self.invars = []
        self.constvars = []
        self.consts = []
        self.sources = {}  # Var -> ndarray | Tracer | None (abstract)
        self.names = {}  # Var -> name of the argument, for error messages
        self.values = {}  # Var -> ndarray, computed on demand
        self.producer = {}  # Var -> index of the equation that computes it
        self._lifted = {}  # id(outer object) -> (Var, object)
        self.active = False

    def __enter__(self):
        _state.stack.append(self)
        self.active = True
        return self

    def __exit__(self, *exc):
        popped = _state.stack.pop()
        assert popped is self, "builder stack corrupted"
        self.active = False

    def new_input(self, shape, dtype, source=None, name=None, weak=False):
        var = Var(shape, dtype, weak)
        self.invars.append(var)
        self.sources[var] = source
        if name is not None:
            self.names[var] = name
        return Tracer(var, self)

    def atom(self, x):
        """The Var or Literal standing for ``x`` in this trace."""
        if isinstance(x, Tracer):
            if x.builder is self:
                return x.variable
            if not x.builder.active:
                raise TracerLeakError(
                    f"a traced {aval_str(x.shape, x.dtype)} value from a transformation "
                    f"that already returned was used at {user_frame()}: return it from "
                    "the function instead of storing it"
                )
            return self._lift(x, x.shape, x.dtype, x.variable.weak)
        if isinstance(x, Literal):
            return x
        arr = np.asarray(x)
        if arr.ndim == 0:
            return Literal(arr)
        return self._lift(arr, arr.shape, arr.dtype, False)

    def _lift(self, obj, shape, dtype, weak):
        hit = self._lifted.get(id(obj))
        if hit is not None:
            return hit[0]
        var = Var(shape, dtype, weak)
        self._lifted[id(obj)] = (var, obj)  # keeping obj alive keeps its id unique
        self.constvars.append(var)
        self.consts.append(obj)
        self.sources[var] = obj
        return var

    def add(self, prim, inputs, params, avals):
        """Record ``prim`` on ``inputs``; one tracer per ``(shape, dtype)`` of ``avals``."""
        outs = tuple(Var(shape, dtype) for shape, dtype in avals)
        for var in outs:
            self.producer[var] = len(self.eqns)
        self.eqns.append(Eqn(prim, inputs, outs, params))
        return [Tracer(var, self) for var in outs]

    def value(self, var, why):
        """The concrete value of ``var``, evaluating only its not-yet-computed ancestors."""
        if var in self.values:
            return self.values[var]
        todo, seen, stack = [], {var}, [var]
        while stack:  # iterative: graphs may be 10^5 equations deep
            v = stack.pop()
            index = self.producer.get(v)
            if index is None:
                self.values[v] = self._source_value(v, var, why)
                continue
            todo.append(index)
            for a in self.eqns[index].inputs:
                if isinstance(a, Var) and a not in self.values and a not in seen:
                    seen.add(a)
                    stack.append(a)
        for eqn in map(self.eqns.__getitem__, sorted(set(todo))):
            args = [self.values[a] if isinstance(a, Var) else a.value for a in eqn.inputs]
            self.values.update(zip(eqn.outputs, eval_eqn(eqn, args)))
        return self.values[var]

    def _source_value(self, v, wanted, why):
        source = self.sources.get(v)
        if isinstance(source, Tracer):
            return source.concrete(why)
        if source is not None:
            return np.asarray(source)
        name = self.names.get(v)
        origin = f"argument '{name}'" if name else "an abstract input"
        raise ConcretizationError(
            f"a traced {aval_str(wanted.shape, wanted.dtype)} value that depends on {origin} "
            f"was used as a {why} at {user_frame()}. Under jit and vmap, array arguments are "
            "abstract (only shape and dtype are known): mark the argument static with "
            "jit(f, static_argnums=...) or replace Python control flow on values with "
            "fnp.where(cond, x, y)"
        )

    def build(self, outs):
        """Freeze the trace into a Graph whose outputs are ``outs``."""
        outvars = [self.atom(o) for o in outs]
        return Graph(self.constvars, self.invars, self.eqns, outvars, self.consts)


class _State(threading.local):
    def __init__(self):
        self.stack = []


_state = _State()


class outside_traces:
    """A context in which funcgrad computes eagerly even inside a trace (for callbacks that
    run user code on concrete values while the program runs)."""

    def __enter__(self):
        self._saved, _state.stack = _state.stack, []

    def __exit__(self, *exc):
        _state.stack = self._saved


def current_builder():
    stack = _state.stack
    return stack[-1] if stack else None


def eval_impl(prim, args, params, dtype):
    """Run a primitive's reference implementation, pinning the result dtype."""
    out = prim.impl(*args, **params)
    if not isinstance(out, np.ndarray) or out.dtype != dtype:
        out = np.asarray(out, dtype=dtype)
    return out


def eval_eqn(eqn, args):
    """The values of ``eqn``'s outputs (a list) on the arrays ``args``."""
    if eqn.prim.multiple_results:
        return eval_impl_multiple(eqn.prim, args, eqn.params, [v.dtype for v in eqn.outputs])
    return [eval_impl(eqn.prim, args, eqn.params, eqn.outputs[0].dtype)]


def eval_impl_multiple(prim, args, params, dtypes):
    """Run a multiple-results primitive's reference implementation, pinning the dtypes."""
    outs = list(prim.impl(*args, **params))
    if len(outs) != len(dtypes):
        raise RuntimeError(f"{prim.name} returned {len(outs)} results, expected {len(dtypes)}")
    return [
        out if isinstance(out, np.ndarray) and out.dtype == dt else np.asarray(out, dtype=dt)
        for out, dt in zip(outs, dtypes)
    ]


def bind(prim, *args, **params):
    """Apply ``prim``: record an equation when tracing, else compute at once. A
    multiple-results primitive returns a list."""
    builder = current_builder()
    if builder is None:
        arrays = []
        for a in args:
            if isinstance(a, Tracer):
                a.concrete(f"operand of {prim.name}")  # raises the leak error
            arrays.append(a.value if isinstance(a, Literal) else np.asarray(a))
        avals = _abstract_eval(prim, arrays, params)
        if prim.multiple_results:
            return eval_impl_multiple(prim, arrays, params, [dtype for _, dtype in avals])
        return eval_impl(prim, arrays, params, avals[0][1])
    inputs = [builder.atom(a) for a in args]
    avals = _abstract_eval(prim, inputs, params)
    if prim.multiple_results:
        return builder.add(prim, inputs, params, avals) if avals else []
    return builder.add(prim, inputs, params, avals)[0]


def _abstract_eval(prim, operands, params):
    """The ``(shape, dtype)`` of each of the primitive's results, as a list."""
    try:
        avals = prim.abstract_eval(*operands, **params)
    except FuncgradError as e:
        raise located(e) from None
    if not prim.multiple_results:
        avals = [avals]
    return [(tuple(shape), np.dtype(dtype)) for shape, dtype in avals]


def handed_back(x):
    """``x`` as funcgrad hands a value back to the user: a 0-d array as its NumPy scalar
    (``np.float64(5.0)``), anything else (arrays, tracers) as it is.

    The rule: ``funcgrad.numpy`` functions called on concrete values return what NumPy's
    return, a NumPy scalar where NumPy gives one (``fnp.sum``, ``fnp.mean``, the ufuncs)
    and a 0-d array where NumPy keeps one (``fnp.asarray(1.0)``, ``fnp.zeros(())``). The
    transformations (``grad``, ``value_and_grad``, ``jit``, ``vmap``, ``jacfwd``, ...) and
    ``fg.random``'s single draws return every 0-d output as a NumPy scalar, as autograd
    does: ``round``, ``hash``, ``float`` and format specs work on it (and ``isinstance(x,
    float)`` for float64), and it reads like JAX's 0-d arrays (``.shape``, ``.dtype``,
    ``.item()``, arithmetic). The README's "Result types" says the same.

    >>> handed_back(np.asarray(2.5)), handed_back(np.ones(2))
    (np.float64(2.5), array([1., 1.]))
    """
    return x[()] if type(x) is np.ndarray and not x.shape else x


def is_weak(x):
    """Whether ``x``'s dtype yields to the arrays it meets: a Python scalar, or a tracer of
    one. NumPy's scalars (``np.float64(2)``, a subclass of float) are strong, as in NumPy
    and JAX."""
    if isinstance(x, Tracer):
        return x.variable.weak
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def is_float(dtype):
    kind = dtype.kind if isinstance(dtype, np.dtype) else np.dtype(dtype).kind
    return kind in "fc"


def eval_graph(graph, consts, args):
    """Apply ``graph``'s equations to ``consts`` and ``args`` with :func:`bind`: inside a
    trace this inlines the graph into it; outside it computes eagerly."""
    env = dict(zip(graph.constvars, consts))
    env.update(zip(graph.invars, args))

    def read(atom):
        return env[atom] if isinstance(atom, Var) else atom.value

    for eqn in graph.eqns:
        env.update(zip(eqn.outputs, bind_eqn(eqn, map(read, eqn.inputs))))
    return [read(a) for a in graph.outvars]


def bind_eqn(eqn, args):
    """``eqn``'s primitive and parameters applied to ``args``: the results as a list."""
    out = bind(eqn.prim, *args, **eqn.params)
    return out if eqn.prim.multiple_results else [out]
