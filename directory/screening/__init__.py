"""Contraindication screening: a rule table from questions to per-method verdicts."""
