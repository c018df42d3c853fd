"""What a policy file sets, as `referrals policy check FILE` prints it: for the person who wrote the file."""

from datetime import timedelta

from referrals.domain.agencies import NBSP
from referrals.domain.policy import Policy


def _span(delta: timedelta) -> str:
    days, seconds = delta.days, delta.seconds
    if days and not seconds:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = days * 24 + seconds // 3600
    return f"{hours} h" if seconds % 3600 == 0 else str(delta)


def described(policy: Policy) -> list[str]:
    words, p = policy.words, policy.prosecutor
    lines = [
        f"jurisdiction: {policy.jurisdiction}",
        f"department: {policy.department}" + (f", {policy.department_address}" if policy.department_address else ""),
        f"case numbers: {policy.case_prefix}-<year>-<number>",
        f"time zone: {policy.time_zone}",
        f"words: badge '{words.badge}', district '{words.district}', event number '{words.event_number}'",
        f"prosecutor: {p.name}"
        + (f", {p.unit}" if p.unit else "")
        + (f", {p.address}" if p.address else "")
        + f" <{p.intake_email}>",
        f"{words.district}s ({len(policy.districts)}): " + ", ".join(f"{d.code} {d.name}" for d in policy.districts),
        f"recordings ({policy.retention_law}): unflagged kept {policy.bwc_retention_days} days; hold confirmed "
        f"{_span(policy.hold_safety_margin)} before a purge date",
    ]
    lines += [
        f"  flag {f.code} ({f.label}): kept {f.retention_days or policy.bwc_retention_days} days"
        for f in policy.recording_flags
    ]
    unverified = [s.citation for s in policy.statutes if s.elements and not s.elements_verified]
    lines.append(
        f"statutes ({len(policy.statutes)}, elements unverified for {len(unverified)}): "
        + ", ".join(s.citation for s in policy.statutes)
    )
    lines.append(
        "tasks: "
        + "; ".join(
            f"{task.value} due {_span(t.due)}, then "
            + ", ".join(
                f"{'+' + _span(step.after) if step.after else 'at once'} {'/'.join(r.value for r in step.notify)}"
                for step in t.escalation
            )
            for task, t in policy.tasks.items()
        )
    )
    lines.append(
        f"removal window: {policy.prosecution.removal_window_days} days after arraignment; "
        f"{len(policy.prosecution.court_holidays)} court holidays listed"
    )
    lines += _touhy(policy)
    lines.append(
        f"public figures: published '{policy.publication.cron}' ({policy.time_zone}), "
        f"counts under {policy.publication.small_cell_threshold} suppressed"
    )
    lines.append(f"access trail kept {policy.access_log_retention_days} days")
    return lines


def _touhy(policy: Policy) -> list[str]:
    touhy, signatory = policy.touhy, policy.touhy.signatory
    lines = [
        f"touhy: {len(touhy.agencies)} agencies, answers due {_span(touhy.response_due)}; addresses unverified: "
        + (", ".join(a.code for a in touhy.unverified()) or "none")
    ]
    lines += [
        f"  agency {a.code} ({a.name}): {a.regulation}; to {a.office_name()}".replace(NBSP, " ") for a in touhy.agencies
    ]
    lines.append(
        f"  signed by {signatory.name}, {signatory.title}"
        + (" (development placeholder: letters leave the signature block blank)" if signatory.placeholder else "")
        + (f"; copied to {'; '.join(touhy.copies)}" if touhy.copies else "")
    )
    return lines
