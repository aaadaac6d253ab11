"""Writes: every change to curriculum or progress goes through one of these functions."""
