"""The inspection features: one layer, a model, their upload forms and summaries."""
