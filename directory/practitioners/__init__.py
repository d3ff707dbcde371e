"""Practitioner profiles, their practice locations and the method/condition vocabularies."""
