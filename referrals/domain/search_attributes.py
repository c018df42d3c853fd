"""Custom search attributes: registered on every server, kept current by the workflow.

None of them may hold personal data: only case numbers, stages, task names, districts,
deadlines and escalation levels.
"""

from temporalio.common import SearchAttributeKey

CASE_NUMBER = SearchAttributeKey.for_keyword("CaseNumber")
CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
OPEN_TASKS = SearchAttributeKey.for_keyword_list("OpenTasks")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
DISTRICT = SearchAttributeKey.for_keyword("District")
# The end of the last day for a notice of removal to federal court, while that window is open.
REMOVAL_DEADLINE = SearchAttributeKey.for_datetime("RemovalDeadline")
# The patch ids of referrals/workflows/versions.py whose new code the run takes, upserted once at its start:
# `referrals versions` reads it to tell when a patch may be deprecated, and when removed.
PATCHES = SearchAttributeKey.for_keyword_list("Patches")

ALL = (CASE_NUMBER, CASE_STAGE, OPEN_TASKS, NEXT_DEADLINE, ESCALATION_LEVEL, DISTRICT, REMOVAL_DEADLINE, PATCHES)

# The names `temporal server start-dev --search-attribute NAME=TYPE` expects.
CLI_TYPES = {
    CASE_NUMBER: "Keyword",
    CASE_STAGE: "Keyword",
    OPEN_TASKS: "KeywordList",
    NEXT_DEADLINE: "Datetime",
    ESCALATION_LEVEL: "Int",
    DISTRICT: "Keyword",
    REMOVAL_DEADLINE: "Datetime",
    PATCHES: "KeywordList",
}


def cli_args() -> list[str]:
    args: list[str] = []
    for key in ALL:
        args += ["--search-attribute", f"{key.name}={CLI_TYPES[key]}"]
    return args
