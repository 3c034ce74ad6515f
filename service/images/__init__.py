"""Images in and out: uploads decoded, digits preprocessed, MNIST, tensors drawn as PNGs."""
