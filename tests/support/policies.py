"""The policies cases run under in the tests: Chicago's as shipped, and one whose escalations come in seconds."""

from referrals.config import ROOT
from referrals.domain.policy import load_policy

CHICAGO = load_policy(ROOT / "policy" / "chicago.toml")
FAST = ROOT / "tests" / "fast_policy.toml"
