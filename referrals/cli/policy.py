"""`referrals policy check`: a jurisdiction policy file validated, and what it sets printed (no configuration
needed: a file being written, before it is deployed)."""

import argparse
import sys

from referrals.domain.policy import PolicyError, load_policy
from referrals.domain.policy_report import described


def check_policy(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        print(f"referrals: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: valid")
    print("\n".join(described(policy)))
    return 0
