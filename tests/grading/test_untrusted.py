"""The rules for student-controlled text leaving the pipeline (softmax_grading.untrusted) and
the feedback pages' HTML filter (softmax_grading.feedback_html): fast, no course needed."""

from __future__ import annotations

import pytest

from softmax_grading import feedback_html
from softmax_grading.feedback_html import MAX_REMEMBERED_CHARACTERS, clean_html
from softmax_grading.untrusted import is_student_id, printable, spreadsheet_cell

pytestmark = pytest.mark.grading


@pytest.mark.parametrize("student", ["ada", "smithjohn", "=2+5", "o'brien", "jose.m", "zoë"])
def test_names_an_lms_gives_are_student_ids(student):
    assert is_student_id(student)


@pytest.mark.parametrize("student", [".", "..", ".hidden", "a/b", "a\\b", "", "a\x00b",
                                     "esc\x1b[2K", "tab\there", "x" * 101])
def test_what_cannot_be_one_folder_name_is_no_student_id(student):
    assert not is_student_id(student)


@pytest.mark.parametrize("text, shown", [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-x", "'-x"),
                                         ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
                                         ("\rx", "'\rx"), ("ada", "ada"), ("", "")])
def test_a_formula_start_becomes_text(text, shown):
    assert spreadsheet_cell(text) == shown


@pytest.mark.parametrize("number", ["-0.5", "-3", "+2", "1e-3", 4, -2.5])
def test_numbers_stay_numbers(number):
    assert spreadsheet_cell(number) == number


def test_printable_escapes_terminal_control_sequences():
    shown = printable("mallory\x1b[1A\x1b[2K\r\nhidden\x07")
    assert shown.isprintable() and "\\x1b[1A" in shown and shown.startswith("mallory")


def test_clean_html_drops_what_runs_and_keeps_what_reads():
    page = clean_html('<p>Since $p_i = e^{z_i} / \\sum_j e^{z_j}$, <em>yes</em>.</p>'
                      '<script>window.X = 1</script><img src="x" onerror="window.Y = 1">'
                      '<a href="javascript:alert(1)">a</a><a href="data:text/html,x">b</a>'
                      '<iframe src="https://example.org"></iframe><ul><li>one</li></ul>'
                      '<img src="data:image/svg+xml;base64,PHN2Zz4=">')
    assert "<script" not in page and "onerror" not in page and "javascript:" not in page
    assert "<iframe" not in page and "data:" not in page
    assert "<p>Since $p_i = e^{z_i} / \\sum_j e^{z_j}$, <em>yes</em>.</p>" in page
    assert "<ul><li>one</li></ul>" in page


@pytest.mark.parametrize("length", [0, 1, MAX_REMEMBERED_CHARACTERS, 3 * MAX_REMEMBERED_CHARACTERS])
def test_clean_html_cleans_every_text_remembered_or_not(length):
    """Texts up to MAX_REMEMBERED_CHARACTERS are cleaned once and remembered; longer ones are
    cleaned every time. Either way, and the second time too, nothing that runs is kept."""
    script = '<script>window.X = 1</script><img src="x" onerror="window.Y = 1">'
    text = ("<p>" + "a" * length)[:max(length - len(script), 0)] + script
    feedback_html._clean_once.cache_clear()
    for _ in range(2):
        page = clean_html(text)
        assert "<script" not in page and "onerror" not in page
        assert clean_html(text.encode()) == page
    # what is remembered is bounded: a text over the limit is not kept
    kept = feedback_html._clean_once.cache_info().currsize
    assert kept == (1 if len(text) <= MAX_REMEMBERED_CHARACTERS else 0), (len(text), kept)
