"""What the tests share: helpers, request bodies, real receivers and files, each module named by what it holds.

Test modules import from here, never from one another; fixtures shared across modules live in tests/conftest.py.
"""
