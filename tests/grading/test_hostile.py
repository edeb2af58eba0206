"""A class of hostile students, graded the way the instructor grades: each attack fails, and hurts
no one else.

One course folder for chapter 1 receives every submission of ``cases/hostile.py`` and is graded
once by ``python -m softmax_grading grade`` (sandbox on, two at a time, short limits). The
attacks are numbered by class:

1. grades rewritten (the gradebook, classmates' files);
2. answers read from disk (solutions, the gradebook's cells, the config, /proc);
3. classmates affected (shared code, startup files, answers left in /tmp);
4. checks switched off (patched checks, NumPy, builtins, IPython hooks and transformers,
   rigged values, tracers, signals, the scanner itself);
5. the delegation guard bypassed (copies of the library, threads, private helpers, imports,
   honesty only while watched, for the check's inputs or on the first call);
6. the class stopped (pasted tests, solution markers, frames sent back, cells faking tests);
7. correct answers marked wrong (an in-place softmax, a figure, one absurd answer);
8. load and time (timeouts swallowed, sleeps, endless functions);
9. nothing unbounded (memory, fork bombs, orphans, floods of output, huge files and values);
10. noise (an honest submission raises nothing; an edited locked cell is listed);
11. output forging (printed "full marks", displayed numbers, exits, forged channel frames).

Then the tests read the gradebook, the grades CSV, ``report.json``/``report.txt``, the feedback
pages and the host itself (files, processes) for each attack's expected outcome. Attacks that
still succeed are marked ``known_hole`` in ``cases/hostile.py``: their failing checks are
expected (strict xfail), so fixing the hole turns them into passes that must be unmarked.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from nbgrader.api import Gradebook
from synthetic import ASSIGNMENTS, expected_scores

from softmax_grading import codec

pytestmark = [pytest.mark.grading, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("grading_cases_hostile",
                                               Path(__file__).parent / "cases" / "hostile.py")
hostile = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = hostile  # its dataclass looks its module up while being defined
_spec.loader.exec_module(hostile)
ASSIGNMENT = hostile.ASSIGNMENT
if ASSIGNMENT not in ASSIGNMENTS:
    pytest.skip(f"{ASSIGNMENT} is not among the selected assignments", allow_module_level=True)
ATTACKS = {attack.name: attack for attack in hostile.HOSTILE}
LIMITS = """
c.Sandbox.cpu_seconds_per_cell = 3
c.Sandbox.wall_seconds_per_cell = 20
c.Sandbox.memory_mb = 1024
"""
# Only a safety net against a grader that hangs: the run takes a few minutes on 2 cores.
GRADING_SAFETY_TIMEOUT = 1800
MAX_PAGE_BYTES = 5_000_000


@dataclass
class Graded:
    course: object
    result: subprocess.CompletedProcess
    report: dict
    submitted_before: dict[str, str]
    submitted_after: dict[str, str]
    processes_after: list[str]


def _hashes(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _command_lines() -> list[str]:
    lines = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    lines.append(handle.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return lines


@pytest.fixture(scope="module")
def graded(tmp_path_factory, grading_env, copy_of_release) -> Graded:
    course = copy_of_release(tmp_path_factory.mktemp("hostile") / "course", LIMITS)
    for attack in hostile.HOSTILE:
        hostile.submit_attack(course, attack)
    before = _hashes(course.root / "submitted")
    # The hostile class is graded by the very command an instructor types, in a new interpreter
    # (not tests/grading/preloaded_commands.py): one command, and the attacks are its subject.
    result = subprocess.run(
        [sys.executable, "-m", "softmax_grading", "grade", ASSIGNMENT, "--to", "grades.csv",
         "--jobs", "2"],
        cwd=course.root, env=grading_env, capture_output=True, text=True,
        timeout=GRADING_SAFETY_TIMEOUT)
    report_path = course.root / "reports" / ASSIGNMENT / "report.json"
    assert report_path.exists(), result.stdout[-3000:] + result.stderr[-5000:]
    return Graded(course, result, json.loads(report_path.read_text()), before,
                  _hashes(course.root / "submitted"), _command_lines())


def _entry(graded: Graded, attack) -> dict:
    assert attack.name in graded.report["students"], f"{attack.name} is not in the report"
    return graded.report["students"][attack.name]


def _expect_hole(request, attack, check: str) -> None:
    """Mark the test as an expected failure when the attack is a known hole for this check."""
    if attack.known_hole and check in attack.hole_in:
        request.applymarker(pytest.mark.xfail(strict=True, reason=attack.known_hole))


def _context(graded: Graded, attack) -> str:
    entry = graded.report["students"].get(attack.name, {})
    return json.dumps({key: entry.get(key) for key in ("status", "reason", "parts", "flags",
                                                       "timeouts", "feedback")}, indent=1)


def _cell_output_text(graded: Graded, name: str) -> str:
    path = graded.course.root / "reports" / ASSIGNMENT / "results" / f"{name}.json"
    result = json.loads(path.read_text())
    texts = []
    for outputs in result["cell_outputs"].values():
        for output in outputs:
            texts += [str(output.get("text", "")), str(output.get("ename", "")),
                      str(output.get("evalue", "")),
                      str(output.get("data", {}).get("text/plain", ""))]
    return "\n".join(texts)


# --- per attack ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ATTACKS)
def test_scores_per_part(graded, request, name):
    attack = ATTACKS[name]
    _expect_hole(request, attack, "scores")
    expected = expected_scores(graded.course, ASSIGNMENT, attack.student)
    with Gradebook(graded.course.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, name)
        actual = {grade.name: grade.score for grade in notebook.grades if grade.name in expected}
    assert actual == expected, _context(graded, attack)


@pytest.mark.parametrize("name", ATTACKS)
def test_integrity_flags(graded, request, name):
    attack = ATTACKS[name]
    if attack.flags is None:
        pytest.skip("flags not checked for this attack")
    _expect_hole(request, attack, "flags")
    flags = _entry(graded, attack)["flags"]
    if not attack.flags:
        assert flags == [], _context(graded, attack)
    for expected in attack.flags:
        assert any(expected in flag for flag in flags), (expected, _context(graded, attack))


@pytest.mark.parametrize("name", ATTACKS)
def test_timeouts(graded, request, name):
    attack = ATTACKS[name]
    if attack.timeouts is None:
        pytest.skip("timeouts not checked for this attack")
    _expect_hole(request, attack, "timeouts")
    assert len(_entry(graded, attack)["timeouts"]) == attack.timeouts, _context(graded, attack)


@pytest.mark.parametrize("name", ATTACKS)
def test_status_and_locked_cells(graded, request, name):
    attack = ATTACKS[name]
    _expect_hole(request, attack, "status")
    entry = _entry(graded, attack)
    assert entry["status"] == ("not graded" if attack.not_graded else "graded"), entry["reason"]
    assert entry["sandbox"] is True
    assert entry["max_score"] == 10.0  # no cell can raise the points on offer
    listed = {cell.split()[0] for cell in entry["edited_locked_cells"]}
    assert listed == set(attack.edited_locked_cells), entry["edited_locked_cells"]


@pytest.mark.parametrize("name", ATTACKS)
def test_feedback_page(graded, request, name):
    attack = ATTACKS[name]
    _expect_hole(request, attack, "feedback")
    entry = _entry(graded, attack)
    page = graded.course.root / "feedback" / name / ASSIGNMENT / f"{ASSIGNMENT}.html"
    if attack.feedback == "withheld":
        assert entry["feedback"].startswith("withheld"), _context(graded, attack)
        assert not page.exists()
        return
    assert entry["feedback"] == "written", _context(graded, attack)
    assert page.stat().st_size < MAX_PAGE_BYTES
    text = page.read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in text
    for phrase in attack.page_says:
        assert phrase in text, f"the feedback page should say {phrase!r}"


@pytest.mark.parametrize("name", [name for name, attack in ATTACKS.items() if attack.outputs])
def test_outputs_of_the_students_cells(graded, name):
    attack = ATTACKS[name]
    text = _cell_output_text(graded, name)
    for phrase in attack.outputs:
        assert phrase in text, (phrase, text[-2000:])


@pytest.mark.parametrize("name", ATTACKS)
def test_grades_csv(graded, request, name):
    attack = ATTACKS[name]
    _expect_hole(request, attack, "scores")
    with open(graded.course.root / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)
                if row["assignment"] == ASSIGNMENT}
    assert name in rows, f"{name} is missing from the grades CSV"
    total = sum(expected_scores(graded.course, ASSIGNMENT, attack.student).values())
    assert float(rows[name]["score"]) == pytest.approx(total)


# --- the whole run ------------------------------------------------------------------------------


def test_every_attack_is_in_the_run(graded):
    assert set(graded.report["students"]) == set(ATTACKS)
    assert len(ATTACKS) >= 30


def test_exit_code_says_whether_every_submission_was_graded(graded, request):
    holes = [attack for attack in ATTACKS.values()
             if attack.known_hole and "exit" in attack.hole_in]
    if holes:
        request.applymarker(pytest.mark.xfail(strict=True, reason="; ".join(
            f"{attack.name}: {attack.known_hole}" for attack in holes)))
    expected = 1 if any(attack.not_graded for attack in ATTACKS.values()) else 0
    assert graded.result.returncode == expected, graded.result.stdout[-3000:]
    for name, attack in ATTACKS.items():
        assert (f"NOT GRADED: {name}:" in graded.result.stdout) == attack.not_graded


def test_report_text_names_every_flagged_student(graded):
    text = (graded.course.root / "reports" / ASSIGNMENT / "report.txt").read_text()
    lines = {line.split()[0]: line for line in text.splitlines()  # the table, not the details
             if line and not line[0].isspace() and line.split()[0] in ATTACKS}
    for name, attack in ATTACKS.items():
        flagged = bool(graded.report["students"][name]["flags"])
        assert ("INTEGRITY" in lines[name]) == flagged, lines[name]
        if attack.flags and not (attack.known_hole and "flags" in attack.hole_in):
            assert flagged, f"{name} should be flagged in report.txt"
            assert f"  {name}\n    integrity: " in text


def test_submitted_notebooks_are_unchanged(graded):
    """No attacker wrote into anyone's submission (its own included)."""
    assert graded.submitted_after == graded.submitted_before


def test_nothing_was_written_outside_the_sandboxes(graded):
    """The marker every write attack writes is nowhere in the course, the code or the homes."""
    marker = hostile.WRITE_MARKER.encode()
    places = [graded.course.root, REPO_ROOT / "softmax_course", REPO_ROOT / "softmax_grading",
              Path.home() / ".ipython", Path.home() / ".jupyter", Path("/etc/ipython")]
    site_packages = Path(np.__file__).parent.parent
    files = [path for place in places if place.is_dir() for path in place.rglob("*")]
    files += list(site_packages.glob("*.py")) + list(site_packages.glob("*.pth"))
    files += [site_packages / "numpy" / "__init__.py"]
    files += [path for path in Path("/tmp").glob("*") if "hostile" in path.name]
    for path in files:
        assert hostile.WRITE_MARKER not in path.name, path
        if path.is_file():
            assert marker not in path.read_bytes(), path
    assert not Path("/tmp/hostile-share.py").exists()


def test_the_gradebook_holds_only_the_graders_writes(graded):
    database = sqlite3.connect(graded.course.root / "gradebook.db")
    tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert "pwned" not in tables
    too_high = database.execute("SELECT COUNT(*) FROM grade WHERE auto_score > 100 OR "
                                "manual_score IS NOT NULL").fetchone()[0]
    assert too_high == 0


def test_no_process_of_an_attacker_is_left(graded):
    assert [line for line in graded.processes_after if hostile.PROCESS_MARKER in line] == []
    assert [line for line in _command_lines() if hostile.PROCESS_MARKER in line] == []


def test_honest_students_keep_exactly_their_scores(graded):
    for name in ("c00_reference", "zz_reference"):
        entry = graded.report["students"][name]
        assert entry["score"] == 8.0 and entry["flags"] == [] and entry["timeouts"] == []
    for name in ("c00_blank", "zz_blank"):
        entry = graded.report["students"][name]
        assert entry["score"] == 0.0 and entry["flags"] == [] and entry["timeouts"] == []


def test_markers_never_appear_literally_in_a_source():
    """A copy of a source (the notebook, its feedback page) must not look like a write."""
    for attack in hostile.HOSTILE:
        for source in attack.student.answers.values():
            assert hostile.WRITE_MARKER not in source
            assert hostile.PROCESS_MARKER not in source


# --- the codec across the wall (regressions for holes the attacks found) -----------------------


def test_a_value_that_cannot_be_written_out_is_refused_not_fatal():
    """10**5000 has too many digits for str(): a CodecError, so the runtime answers "unsupported"
    instead of dying (which lost the whole submission's grades)."""
    with pytest.raises(codec.CodecError):
        codec.encode(10**5000)


def test_what_the_other_side_would_refuse_is_refused_when_sent():
    """More items, or more bytes, than decode accepts: refused by encode, for that value only."""
    with pytest.raises(codec.CodecError):
        codec.encode([0.5] * (codec.MAX_ITEMS + 1))
    with pytest.raises(codec.CodecError):
        codec.encode(np.empty(codec.MAX_BYTES // 8, dtype=np.float64))
    assert codec.decode(codec.encode([0.5] * 1000)) == [0.5] * 1000


def test_a_malformed_frame_is_a_codec_error():
    """A student's process can write any frame; the grader must see a CodecError, never a
    ValueError that stops the grading of the submission."""
    for frame in (b'{"__float__": "full marks"}', b'{"__int__": "' + b"1" * 4500 + b'"}',
                  b'{"__complex__": ["x", "1"]}', b'{"__dict__": {"a": {"__float__": "x"}}}'):
        with pytest.raises(codec.CodecError):
            codec.decode(frame)


def test_numpy_scalar_subclasses_are_lowered_and_named():
    class float64(np.float64):  # named like NumPy's own, and claiming its module
        __module__ = "numpy"

        def __eq__(self, other):
            return True

        __hash__ = np.float64.__hash__

    lowered: list[str] = []
    value = codec.decode(codec.encode(float64(0.5), lowered=lowered))
    assert type(value) is np.float64 and value == 0.5
    assert lowered == ["a float64 (a subclass of float64)"]


def test_a_fake_class_attribute_does_not_crash_the_encoder():
    class Pretender:
        @property
        def __class__(self):
            return str

    with pytest.raises(codec.CodecError):
        codec.encode(Pretender())
