"""The workbench: a page served at `/` that drives the public API from a browser, offline."""
