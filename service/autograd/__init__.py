"""POST /v1/autograd: a graph of named tensors checked, planned, run and reported."""
