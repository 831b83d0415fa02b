"""For developers only: demo data (refused in production) and `make run`."""
