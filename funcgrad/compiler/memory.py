"""The buffer plan: which executor buffer holds each storage.

A storage is a value's bytes (the views of a value share its storage), or a kernel's
workspace. The caller's arguments are the first buffers, the program's outputs the next
(fresh arrays each call), and every other storage, a temporary, gets a slot: slots are
reused by liveness (a slot freed by a value's last reader takes a later value of exactly
its size), a fused kernel may write its result over an input it reads for the last time
(``donors``), and slots persist across calls. Storages that live only inside a loop over
images (``inside``) get no buffer: they are regions of the loop's scratch.

Works on any list of instructions that answer ``reads``, ``writes``, ``donors`` and
``inside`` (instructions.py):

>>> import numpy as np
>>> from funcgrad.compiler.instructions import Cast, View
>>> f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
>>> steps = [Cast(View(0, (2,), f32), View(1, (2,), f64)),
...          Cast(View(1, (2,), f64), View(2, (2,), f32))]
>>> plan = plan_memory(steps, n_inputs=1, nbytes={0: 8, 1: 16, 2: 8}, outputs={2})
>>> plan.buffer_of, plan.temps
({0: 0, 2: 1, 1: 2}, [16])
"""

from typing import NamedTuple


class BufferPlan(NamedTuple):
    buffer_of: dict  # storage -> the executor's buffer number
    n_buffers: int
    outputs: list  # the output storages, in buffer order
    temps: list  # bytes of each temporary slot
    slot_of: dict  # storage -> its temporary slot


def last_reads(instructions):
    """storage -> the position of the last instruction reading it."""
    last = {}
    for i, ins in enumerate(instructions):
        for s in ins.reads:
            last[s] = i
    return last


def plan_memory(instructions, n_inputs, nbytes, outputs):
    """The buffers of ``instructions``: storages ``0 .. n_inputs - 1`` are the inputs,
    ``outputs`` (storages) the program's results; ``nbytes``: storage -> bytes, for every
    storage."""
    last = last_reads(instructions)
    internal = set().union(*(ins.inside for ins in instructions))
    slot_of, free, temps = {}, {}, []
    for i, ins in enumerate(instructions):
        donors = ins.donors
        donated = set()
        for s in ins.writes:
            if s < n_inputs or s in outputs or s in slot_of:
                continue
            size = max(nbytes[s], 1)
            # In place: a temporary read for the last time, element for element, by the
            # kernel writing s (its block is loaded before the block is stored).
            d = next(
                (
                    d
                    for d in donors.get(s, ())
                    if last.get(d) == i and d in slot_of and d not in donated
                    if d not in outputs and temps[slot_of[d]] == size
                ),
                None,
            )
            if d is not None:
                donated.add(d)
                slot_of[s] = slot_of[d]
                continue
            pool = free.get(size)
            slot = pool.pop() if pool else None
            if slot is None:
                slot = len(temps)
                temps.append(size)
            slot_of[s] = slot
        for s in set(ins.reads) - donated:  # a storage read twice is freed once
            if last.get(s) == i and s in slot_of and s not in outputs:
                free.setdefault(temps[slot_of[s]], []).append(slot_of[s])
    for s in sorted(nbytes):  # what no instruction writes (an empty array, say)
        if s >= n_inputs and s not in outputs and s not in internal and s not in slot_of:
            slot_of[s] = len(temps)
            temps.append(max(nbytes[s], 1))
    # Buffer numbering for the executor: inputs, then outputs, then temp slots.
    out_list = sorted(outputs)
    buffer_of = {s: s for s in range(n_inputs)}
    for k, s in enumerate(out_list):
        buffer_of[s] = n_inputs + k
    for s, slot in slot_of.items():
        buffer_of[s] = n_inputs + len(out_list) + slot
    for k, s in enumerate(sorted(internal)):  # regions of a loop's thread scratch
        buffer_of[s] = n_inputs + len(out_list) + len(temps) + k
    n_buffers = n_inputs + len(out_list) + len(temps) + len(internal)
    return BufferPlan(buffer_of, n_buffers, out_list, temps, slot_of)
