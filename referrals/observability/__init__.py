"""Metrics and traces: what the API and the worker tell the department's monitoring."""
