"""Planning a run before anything is allocated: inputs, shapes on meta, FLOPs and limits."""
