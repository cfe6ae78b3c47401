"""The wrong-answer candidates are complete, and the workbook catches at least 95% of them.

Grading them happens in ``tests/answers/<chapter>.yaml`` itself (collected by ``conftest.py``,
one item an exercise and one a guarded trick): every wrong answer and trick earns 0, the solution
and every correct alternative earn full marks. Since those items assert that every ``wrong`` entry
earns 0, the share caught is the share of ``wrong`` among ``wrong`` and ``accepted``.
"""

import pytest

import wrong_answers
from workbook import chapter_ids, exercises


@pytest.mark.parametrize("chapter", chapter_ids())
def test_every_chapter_has_wrong_answers(chapter):
    assert chapter in wrong_answers.chapters_with_answers(), f"tests/answers/{chapter}.yaml is missing"


@pytest.mark.parametrize("chapter", wrong_answers.chapters_with_answers())
def test_every_answer_cell_has_four_wrong_answers_and_a_right_one(chapter):
    answers = wrong_answers.read_answers(chapter)
    answer_ids = [e.answer_id for e in exercises(chapter)]
    assert sorted(answers) == sorted(answer_ids), "one key per answer cell's grade_id"
    for answer_id, listed in answers.items():
        assert set(listed) <= {"wrong", "right", "accepted"}, answer_id
        assert len(listed.get("wrong") or []) + len(listed.get("accepted") or []) >= 4, answer_id
        assert len(listed.get("right") or []) >= 1, answer_id
        for kind, entries in listed.items():
            for entry in entries:
                assert entry.get("why") and entry.get("code"), f"{answer_id} {kind}: a 'why' and a 'code'"
                assert kind != "accepted" or entry.get("reason"), f"{answer_id}: say why no test can catch it"


def test_the_workbook_catches_95_percent_of_wrong_answers():
    counts = {"wrong": 0, "accepted": 0}
    for chapter in wrong_answers.chapters_with_answers():
        for listed in wrong_answers.read_answers(chapter).values():
            for kind in counts:
                counts[kind] += len(listed.get(kind) or [])
    assert counts["wrong"] + counts["accepted"] > 0
    assert counts["wrong"] / (counts["wrong"] + counts["accepted"]) >= 0.95, counts


def test_the_tricks_ask_for_what_the_answer_cell_defines():
    names = wrong_answers.requested_names("import keras\n\ndef build(a):\n    return a\n\nclass Sampling:\n"
                                          "    pass\n\nrate: float = 0.5\nx, y = 1, 2\n")
    assert names == ["build", "Sampling", "rate", "x", "y"]
