"""Django's PostgreSQL backend for a database in the embedded server (``ENGINE`` of an ``embedded://`` URL)."""
