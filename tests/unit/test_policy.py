"""The jurisdiction policies: the three shipped ones load, `referrals policy check` says what a file sets, and a
broken file is refused naming each key that is wrong (run in-process: the command needs no configuration)."""

from datetime import timedelta
from pathlib import Path

import pytest

from referrals.cli import main
from referrals.domain.enums import Role, Task
from referrals.domain.policy import Policy, PolicyError, load_policy
from referrals.domain.policy_report import described
from tests.support.builders import CHICAGO, POLICIES

SHIPPED = sorted(POLICIES.glob("*.toml"))
CHICAGO_TEXT = (POLICIES / "chicago.toml").read_text()


def test_three_policies_are_shipped():
    assert [p.name for p in SHIPPED] == ["chicago.toml", "minneapolis.toml", "new_york_city.toml"]


@pytest.mark.parametrize(
    ("file", "prefix", "zone", "district_word", "badge_word"),
    [
        ("chicago.toml", "CPD", "America/Chicago", "district", "star"),
        ("minneapolis.toml", "MPD", "America/Chicago", "precinct", "badge"),
        ("new_york_city.toml", "NYPD", "America/New_York", "precinct", "shield"),
    ],
)
def test_each_shipped_policy_loads_with_its_own_words(file, prefix, zone, district_word, badge_word):
    policy = load_policy(POLICIES / file)
    assert (policy.case_prefix, policy.time_zone, policy.words.district, policy.words.badge) == (
        prefix,
        zone,
        district_word,
        badge_word,
    )
    assert policy.districts and policy.recording_flags and policy.statutes
    assert set(policy.tasks) == set(Task)
    for task, rules in policy.tasks.items():
        assert rules.due > timedelta(0) and rules.escalation, task
        assert [s.after for s in rules.escalation] == sorted(s.after for s in rules.escalation), task
    assert all(policy.touhy.agency(a.code) is a for a in policy.touhy.agencies)
    assert all(s.elements for s in policy.statutes)  # the legal review maps facts to each element


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_policy_check_says_a_shipped_file_is_valid_and_what_it_sets(path, capsys):
    assert main(["policy", "check", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"{path}: valid" and err == ""
    assert lines[1:] == described(load_policy(path))


def test_what_policy_check_prints_for_chicago():
    lines = described(CHICAGO)
    assert lines[:5] == [
        "jurisdiction: Chicago, Illinois",
        "department: Chicago Police Department, 3510 S. Michigan Avenue, Chicago, IL 60653",
        "case numbers: CPD-<year>-<number>",
        "time zone: America/Chicago",
        "words: badge 'star', district 'district', event number 'OEMC event number'",
    ]
    assert "recordings (50 ILCS 706/10-20): unflagged kept 90 days; hold confirmed 7 days before a purge date" in lines
    assert "  flag use_of_force (Firearm discharge or use of force): kept 730 days" in lines
    tasks = next(line for line in lines if line.startswith("tasks: "))
    assert tasks.startswith(
        "tasks: footage_hold due 1 day, then at once evidence_custodian/supervisor, +1 day command, "
        "+3 days command/admin; supervisor_identification due 3 days, then at once supervisor, +2 days command"
    )
    touhy = lines.index(
        "touhy: 7 agencies, answers due 45 days; addresses unverified: ICE, CBP, USCIS, FBI, DEA, ATF, USMS"
    )
    assert lines[touhy - 1] == "removal window: 30 days after arraignment; 22 court holidays listed"
    assert lines[touhy + 1 : touhy + 9] == [
        "  agency ICE (U.S. Immigration and Customs Enforcement): 6 C.F.R. §§ 5.41–5.49; to Office of the Principal "
        "Legal Advisor, U.S. Immigration and Customs Enforcement",
        "  agency CBP (U.S. Customs and Border Protection): 6 C.F.R. §§ 5.41–5.49; to Office of Chief Counsel, U.S. "
        "Customs and Border Protection",
        "  agency USCIS (U.S. Citizenship and Immigration Services): 6 C.F.R. §§ 5.41–5.49; to Office of the Chief "
        "Counsel, U.S. Citizenship and Immigration Services",
        *(
            f"  agency {code}: 28 C.F.R. §§ 16.21–16.29; to United States Attorney for the Northern District of Illinois"
            for code in (
                "FBI (Federal Bureau of Investigation)",
                "DEA (Drug Enforcement Administration)",
                "ATF (Bureau of Alcohol, Tobacco, Firearms and Explosives)",
                "USMS (United States Marshals Service)",
            )
        ),
        "  signed by [Name of the official who signs Touhy requests], [Title] (development placeholder: letters "
        "leave the signature block blank); copied to Cook County State's Attorney's Office, Felony Review Unit",
    ]
    assert lines[-2:] == [
        "public figures: published '0 6 * * *' (America/Chicago), counts under 10 suppressed",
        "access trail kept 365 days",
    ]


@pytest.mark.parametrize(("margin", "said"), [("PT36H", "36 h"), ("PT90M", "1:30:00"), ("P2D", "2 days")])
def test_policy_check_says_a_span_as_a_person_would(tmp_path, margin, said):
    policy = load_policy(changed(tmp_path, ('hold_safety_margin = "P7D"', f'hold_safety_margin = "{margin}"')))
    assert f"hold confirmed {said} before a purge date" in "\n".join(described(policy))


def changed(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = CHICAGO_TEXT
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def without(text: str, start: str, end: str | None) -> str:
    """The text with the lines from `start` up to `end` (or the end of the file) taken out."""
    i = text.index(start)
    return text[:i] + (text[text.index(end, i) :] if end else "")


BROKEN = [  # (what the file says, what it is changed to, what the refusal names)
    (
        'time_zone = "America/Chicago"',
        'time_zone = "Mars/Olympus"',
        "time_zone: Value error, unknown time zone 'Mars/Olympus' (an IANA name such as 'America/Chicago')",
    ),
    ('case_prefix = "CPD"', 'case_prefix = "cpd"', "case_prefix: String should match pattern '^[A-Z]{2,8}$'"),
    ("bwc_retention_days = 90", "bwc_retention_days = 0", "bwc_retention_days: Input should be greater than 0"),
    ("bwc_retention_days = 90", "bwc_retention_days = -1", "bwc_retention_days: Input should be greater than 0"),
    (
        'hold_safety_margin = "P7D"',
        'hold_safety_margin = "-P1D"',
        "hold_safety_margin: Input should be greater than or equal to 0 seconds",
    ),
    (
        "access_log_retention_days = 365",
        "access_log_retention_days = 364",
        "access_log_retention_days: Input should be greater than or equal to 365",
    ),
    (
        '{ code = "002", name = "Wentworth" }',
        '{ code = "001", name = "Wentworth" }',
        "districts: Value error, 001 listed more than once",
    ),
    (
        '{ code = "002", name = "Wentworth" }',
        '{ code = "0 2", name = "Wentworth" }',
        "districts.1.code: String should match pattern",
    ),
    ('code = "use_of_force"', 'code = "complaint"', "recording_flags: Value error, complaint listed more than once"),
    ('code = "use_of_force"', 'code = "Use of force"', "recording_flags.1.code: String should match pattern"),
    ("retention_days = 730", "retention_days = 0", "recording_flags.0.retention_days: Input should be greater than 0"),
    ('due = "PT24H"', 'due = "tomorrow"', "tasks.footage_hold.due: Input should be a valid timedelta"),
    ('due = "PT24H"', 'due = "PT0S"', "tasks.footage_hold.due: Input should be greater than 0 seconds"),
    (
        'notify = ["command"]',
        'notify = ["janitor"]',
        "tasks.footage_hold.escalation.1.notify.0: Input should be 'officer'",
    ),
    ('notify = ["command"]', "notify = []", "tasks.footage_hold.escalation.1.notify: List should have at least 1 item"),
    (
        'after = "P2D"',
        'after = "soon"',
        "tasks.supervisor_identification.escalation.1.after: Input should be a valid timedelta",
    ),
    ("[tasks.legal_review]", "[tasks.coffee_break]", "tasks.coffee_break.[key]: Input should be 'footage_hold'"),
    (
        "small_cell_threshold = 10",
        "small_cell_threshold = 1",
        "publication.small_cell_threshold: Input should be greater than or equal to 2",
    ),
    (
        "removal_window_days = 30",
        "removal_window_days = 0",
        "prosecution.removal_window_days: Input should be greater than 0",
    ),
    ('intake_email = "felony.review@ccsao.invalid"', "", "prosecutor.intake_email: Field required"),
    (
        "[prosecutor]",
        "[prosecutors_office]",
        "prosecutor: Field required; prosecutors_office: Extra inputs are not permitted",
    ),
    (
        'jurisdiction = "Chicago, Illinois"',
        'jurisdiction = "Chicago, Illinois"\ncolour = "blue"',
        "colour: Extra inputs are not permitted",
    ),
    ("[publication]", "[publication]\nweekly = true", "publication.weekly: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("old", "new", "says"), BROKEN, ids=[says.split(":")[0] for *_, says in BROKEN])
def test_a_broken_policy_is_refused_naming_the_key(tmp_path, old, new, says):
    path = changed(tmp_path, (old, new))
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert str(refused.value).startswith(f"policy file {path}: ")
    assert says in str(refused.value)


def test_policy_check_names_the_problem_and_fails(tmp_path, capsys):
    path = changed(tmp_path, ('time_zone = "America/Chicago"', 'time_zone = "Chicago"'))
    assert main(["policy", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"referrals: policy file {path}: time_zone: Value error, unknown time zone 'Chicago'")


def test_every_problem_of_a_file_is_named_at_once(tmp_path):
    path = changed(
        tmp_path,
        ("bwc_retention_days = 90", "bwc_retention_days = 0"),
        ('case_prefix = "CPD"', 'case_prefix = "C"'),
    )
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    message = str(refused.value)
    assert "case_prefix: String should match pattern" in message
    assert "; bwc_retention_days: Input should be greater than 0" in message


def test_a_task_left_out_of_the_file_is_named(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(without(CHICAGO_TEXT, "[tasks.legal_review]", "[tasks.command_approval]"))
    with pytest.raises(PolicyError, match=r"\(top level\): Value error, tasks: missing legal_review"):
        load_policy(path)


def test_the_tasks_added_since_the_first_policies_have_defaults(tmp_path):
    text = without(CHICAGO_TEXT, "[tasks.charging_decision]", "[touhy]")
    path = tmp_path / "policy.toml"
    path.write_text(text)
    policy = load_policy(path)
    assert policy.tasks[Task.CHARGING_DECISION].due == timedelta(days=90)
    assert policy.tasks[Task.TOUHY_RESPONSE].due == timedelta(days=45)
    assert [s.notify for s in policy.tasks[Task.TOUHY_RESPONSE].escalation] == [
        [Role.PROSECUTOR_LIAISON],
        [Role.COMMAND],
    ]


@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        (("districts = [", "old_districts = ["), "districts: must be listed in the file"),
        (("districts = [", "districts = []\nold = ["), "districts: must be listed in the file"),
    ],
)
def test_a_file_lists_its_districts_and_flags(tmp_path, edit, missing):
    path = changed(tmp_path, edit)
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert str(refused.value) == f"policy file {path}: {missing}"


def test_a_file_without_flags_is_refused_though_a_case_s_copy_may_lack_them(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(without(CHICAGO_TEXT, "[[recording_flags]]", "# The public figures"))
    with pytest.raises(PolicyError, match="recording_flags: must be listed in the file"):
        load_policy(path)
    copy = CHICAGO.model_dump(mode="json")
    del copy["recording_flags"]
    older = Policy.model_validate(copy)  # a case filed before flags were policy: Illinois's seven, kept 90 days
    assert len(older.recording_flags) == 7 and older.retention_days(["use_of_force"]) == 90


def test_a_touhy_agency_states_its_regulation_and_office(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(
        CHICAGO_TEXT + '\n[[touhy.agencies]]\ncode = "IRS"\nname = "Internal Revenue Service"\noffice = "treasury"\n'
    )
    with pytest.raises(PolicyError, match=r"touhy\.agencies\.7\.regulation: Field required"):
        load_policy(path)


def test_a_file_that_is_not_toml_or_not_there_is_named(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('jurisdiction = "Chicago\n')
    with pytest.raises(PolicyError, match=f"policy file {path}: "):
        load_policy(path)
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError, match=r"No such file or directory"):
        load_policy(missing)


def test_a_policy_answers_retention_flags_districts_agencies_and_statutes():
    assert CHICAGO.retention_days([]) == 90
    assert CHICAGO.retention_days(["use_of_force", "detention_or_arrest"]) == 730
    assert CHICAGO.retention_days(["a_flag_no_longer_listed"]) == 90
    assert CHICAGO.flag_label("use_of_force") == "Firearm discharge or use of force"
    assert CHICAGO.flag_label("looked_suspicious") == "looked suspicious"
    assert CHICAGO.admits_district("010") and not CHICAGO.admits_district("013")  # consolidated
    assert CHICAGO.model_copy(update={"districts": []}).admits_district("anything")
    assert CHICAGO.touhy.agency("usms").name == "United States Marshals Service"
    assert CHICAGO.touhy.agency("NSA") is None
    assert CHICAGO.statute("720 ILCS 5/12-3").title == "Battery"
    assert CHICAGO.statute("720 ilcs 5/12-3") is None
    assert str(CHICAGO.zone) == "America/Chicago"


def test_minneapolis_keeps_a_flagged_recording_by_its_longest_flag():
    minneapolis = load_policy(POLICIES / "minneapolis.toml")
    assert minneapolis.retention_days(["evidentiary_value"]) == 90
    assert minneapolis.retention_days(["evidentiary_value", "deadly_force"]) == 365
