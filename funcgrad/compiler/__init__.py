"""Graph -> Program, in stages that each import only those before them: passes (graph
rewrites), folds and fusion, lower (graph -> instructions), schedule (GEMM epilogues, loops
over images), memory (the buffer plan), program (encoding, calling)."""
