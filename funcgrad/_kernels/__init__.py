"""Compiled kernels (Cython). The executor that uses them lands with the executor issue;
until then every graph runs on the NumPy reference interpreter."""
