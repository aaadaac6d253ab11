"""Reads: every page and endpoint gets its data from one of these functions."""
