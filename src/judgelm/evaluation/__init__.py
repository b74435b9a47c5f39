"""Scoring a judge against gold labels: metrics, trivial baselines on the same rows, the evaluation summary."""
