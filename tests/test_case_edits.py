"""A step's edits to its case (referrals/domain/case_edits.py): applied to the case as stored, they give the case
now, whatever changed; and they carry only what changed."""

from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.domain.case_edits import CaseEdit, applied, edits

ITEM = st.dictionaries(st.sampled_from("abc"), st.one_of(st.integers(0, 3), st.text(max_size=2)), max_size=3)
PART = st.one_of(st.none(), st.integers(0, 5), st.text(max_size=3), st.lists(ITEM, max_size=6), ITEM)
CASE = st.dictionaries(st.sampled_from(["stage", "evidence", "people", "tasks", "details"]), PART, min_size=1)


@settings(max_examples=300, derandomize=True)
@given(before=CASE, after=CASE)
def test_the_edits_applied_to_the_case_as_stored_give_the_case_now(before, after):
    after = {**{part: None for part in before}, **after}  # (a dump names every field)
    assert applied(before, edits(before, after)) == after


@settings(max_examples=200, derandomize=True)
@given(before=CASE, items=st.lists(ITEM, min_size=1, max_size=4))
def test_items_added_to_a_list_are_sent_alone(before, items):
    before = {**before, "evidence": [{"a": 1}, {"b": 2}]}
    after = {**before, "evidence": [*before["evidence"], *items]}
    assert edits(before, after) == [CaseEdit(part="evidence", value=items, append=True)]


def test_an_item_changed_is_sent_alone_and_many_changed_replace_the_list():
    before = {"evidence": [{"n": i} for i in range(10)], "stage": "investigation"}
    one = {**before, "evidence": [*before["evidence"][:3], {"n": 3, "held": True}, *before["evidence"][4:]]}
    assert edits(before, one) == [CaseEdit(part="evidence", value={"n": 3, "held": True}, index=3)]
    many = {**before, "evidence": [{"n": i, "held": True} for i in range(10)]}
    assert edits(before, many) == [CaseEdit(part="evidence", value=many["evidence"])]


def test_nothing_changed_is_no_edit_and_a_part_set_to_null_is_sent():
    case = {"stage": "approval", "disposition": None, "evidence": []}
    assert edits(case, dict(case)) == []
    assert edits({**case, "disposition": "charged"}, case) == [CaseEdit(part="disposition", value=None)]
    assert edits({"stage": "x"}, {"stage": "x", "withdrawal": None}) == [CaseEdit(part="withdrawal", value=None)]
