"""Running modules: forward and backward on a device, and hooks that capture what flows."""
