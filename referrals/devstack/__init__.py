"""The local stack: embedded PostgreSQL, the Temporal dev server, and the `make run` launcher.

`devstack.postgres` and `devstack.temporal` are also used by the test suite.
"""
