"""Building judge training data: candidate answers, sampled pairs, teacher judgements, JudgeLM-format splits."""
