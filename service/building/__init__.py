"""Building modules: layer specs to `torch.nn` modules, their weights, seeding and caches."""
