"""The incident referral process: one package, run as the API (referrals.api.main), the worker (referrals.worker)
and the `referrals` command (referrals.cli)."""
