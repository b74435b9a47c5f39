"""Cascaded judging: a cheap judge first, a strong judge only where the cheap one is unsure, cost accounted."""
