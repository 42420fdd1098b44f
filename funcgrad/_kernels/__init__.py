"""Compiled kernels (Cython): the executor and the convolution/pooling kernels."""
