"""Real networks: torchvision architectures by name, and module trees walked on meta."""
