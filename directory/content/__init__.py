"""Short information pages written for patients."""
