"""The NumPy reference interpreter: runs a Graph equation by equation with each
primitive's reference implementation. It is the oracle for compiled kernels and the
fallback backend (``FUNCGRAD_BACKEND=numpy``)."""

import numpy as np

from .core import Var, dce, eval_impl, eval_impl_multiple, native
from .errors import user_frame


class ReferenceProgram:
    """A graph prepared for repeated runs: values live in numbered slots, and each slot
    is released after its last use so long graphs run in bounded memory."""

    def __init__(self, graph):
        graph = dce(graph)
        self.graph = graph
        slot = {}
        template = []
        for v in graph.constvars + graph.invars:
            slot[v] = len(template)
            template.append(None)

        def ref(atom):
            if isinstance(atom, Var):
                return slot[atom]
            template.append(atom.value)  # literals sit in slots of their own
            return len(template) - 1

        steps = []
        for eqn in graph.eqns:
            ins = [ref(a) for a in eqn.inputs]
            outs = []
            for v in eqn.outputs:
                slot[v] = len(template)
                outs.append(slot[v])
                template.append(None)
            if eqn.prim.multiple_results:
                dtype = [v.dtype for v in eqn.outputs]
            else:
                outs, dtype = outs[0], eqn.outputs[0].dtype
            steps.append((eqn.prim, ins, outs, eqn.params, dtype))
        self.outputs = [ref(a) for a in graph.outvars]
        self.n_inputs = len(graph.constvars) + len(graph.invars)
        last_use = {}
        for i, (_, ins, _, _, _) in enumerate(steps):
            for s in ins:
                last_use[s] = i
        keep = set(self.outputs) | {i for i, v in enumerate(template) if v is not None}
        self.steps = [
            (
                prim,
                ins,
                out,
                params,
                dtype,
                [s for s in set(ins) if last_use[s] == i and s not in keep],
            )
            for i, (prim, ins, out, params, dtype) in enumerate(steps)
        ]
        self.template = template

    def __call__(self, consts, args):
        env = list(self.template)
        # (in native byte order, as the graph's dtypes are)
        env[: self.n_inputs] = [
            a if a.dtype.isnative else a.astype(native(a.dtype))
            for a in map(np.asarray, (*consts, *args))
        ]
        inputs = {id(a) for a in env[: self.n_inputs]}
        for prim, ins, out, params, dtype, dead in self.steps:
            try:
                if prim.multiple_results:  # (out: slots; dtype: a list)
                    for o, value in zip(
                        out, eval_impl_multiple(prim, [env[i] for i in ins], params, dtype)
                    ):
                        env[o] = value
                else:
                    env[out] = eval_impl(prim, [env[i] for i in ins], params, dtype)
            except IndexError as e:  # an index array's values, known only now
                raise IndexError(f"{e}, in {prim.name} at {user_frame()}") from None
            for i in dead:
                env[i] = None
        return [_owned(env[i], inputs) for i in self.outputs]

    def run_into(self, consts, args, dests):
        """Run and copy output k into the array ``dests[k]`` (as CompiledProgram.run_into)."""
        for dest, value in zip(dests, self(consts, args)):
            np.copyto(dest, value)


def _owned(value, inputs):
    """Results belong to the caller: never a view of an input or an internal buffer."""
    value = np.asarray(value)
    if id(value) in inputs or not value.flags.owndata or not value.flags.writeable:
        return np.array(value)
    return value
