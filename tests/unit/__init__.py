"""The fast tier: every rule of the domain, tested with no server of any kind (no Temporal, no PostgreSQL, no
HTTP stack, no subprocess). Cases are built in memory by tests/support/builders.py; nothing here imports another
test module."""
