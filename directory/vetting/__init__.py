"""Vetting: credentials, the checks made on them, and the status rules built on those checks."""
