"""Listings imported from the public NPI registry: the NPPES API and the monthly bulk file."""
