"""The incident referral process: one package, run as the API (referrals.api.main), the worker (referrals.worker)
and the `referrals` command (referrals.cli)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("incident-referrals")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"
