"""One file per tito command; each exposes a Click command named ``command``."""
