"""HTTP routes: thin functions that validate, delegate, and encode."""
