"""`python -m referrals.cli`: the `referrals` command."""

from referrals.cli import run

if __name__ == "__main__":
    run()
