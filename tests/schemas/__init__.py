"""Tests of the `schemas` package, one file per module."""
