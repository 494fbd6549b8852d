"""Hand-written helpers shared by the course modules (not generated)."""
