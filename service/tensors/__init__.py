"""Tensors on the wire: request objects decoded, response objects encoded with stats."""
