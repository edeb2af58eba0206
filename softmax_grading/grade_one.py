"""Grade one submission into a result record: the unit of work a grading worker does.

A :class:`GradingJob` carries everything a worker needs and nothing of the
course's: the sanitized notebook's cells (test cells already restored from the
gradebook by the trusted process), the assignment's released files, and the
limits. :func:`grade_submission` runs the student's cells in a sandbox, runs
the test cells in this process against them (:mod:`softmax_grading.checker`),
scans for tampering, and returns a :class:`GradingResult`: plain data, which
the trusted process alone writes to the gradebook.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from softmax_grading.checker import Checker, Finding, MalformedReply, strings
from softmax_grading.output_notes import CUT_NOTE
from softmax_grading.roles import TEST, TRUSTED
from softmax_grading.runtime import MAX_OUTPUT_BYTES_PER_CELL, precomputed_fingerprints
from softmax_grading.session import Session, StudentProcessLost


@dataclass
class GradingJob:
    student: str
    assignment: str
    notebook: str
    cells: list[dict]
    roles: list[str]  # per cell: student, trusted or test (roles.py, from the gradebook)
    release_files: dict[str, bytes]
    limits: dict
    sandboxed: bool
    fingerprint: str = ""
    # The sanitized notebook but its cells (metadata, nbformat version): with `cells`, the
    # notebook the trusted writer records (record_prepared.py). The worker does not use it.
    notebook_header: dict = field(default_factory=dict)


@dataclass
class GradingResult:
    student: str
    assignment: str
    notebook: str
    fingerprint: str
    sandboxed: bool
    roles: list[str] = field(default_factory=list)
    cell_outputs: dict[int, list[dict]] = field(default_factory=dict)
    verdicts: dict[str, dict] = field(default_factory=dict)
    timeouts: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["cell_outputs"] = {str(k): v for k, v in self.cell_outputs.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> GradingResult:
        data = dict(data)
        data["cell_outputs"] = {int(k): v for k, v in data.get("cell_outputs", {}).items()}
        return cls(**data)


def cell_label(index: int, cell: dict) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def warm_up() -> None:
    """A worker's first-time work, done once for all local workers in the server they are forked
    from (``softmax_grading.worker_preload``): fingerprinting the functions a student may not
    delegate to (0.2 s)."""
    precomputed_fingerprints()


def grade_submission(job: GradingJob) -> GradingResult:
    """Run `job` in a sandbox and its tests here; return the outcome as data."""
    result = GradingResult(job.student, job.assignment, job.notebook, job.fingerprint,
                           job.sandboxed, list(job.roles))
    with tempfile.TemporaryDirectory(prefix="release-") as release:
        release_dir = Path(release)
        for relative, content in job.release_files.items():
            target = (release_dir / relative).resolve()
            if not target.is_relative_to(release_dir.resolve()):
                raise ValueError(f"a released file outside the release folder: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        release_dir.chmod(0o755)
        with Session(release_dir, job.limits, job.sandboxed) as session:
            started = time.perf_counter()
            _run_student_cells(job, session, result)
            executed = time.perf_counter()
            checker = Checker(session)
            tests = [(cell["source"], cell["metadata"]["nbgrader"]["grade_id"]
                      if role == TEST else None)
                     for cell, role in zip(job.cells, job.roles, strict=True)
                     if role in (TRUSTED, TEST)]
            # A grading lane is one core. The checks compute their references with NumPy
            # here, where OpenBLAS would start a thread per core in every lane, and with two
            # lanes on two cores the threads spin against each other (ch08 graded with --jobs 2
            # took 2.5 times the CPU of --jobs 1, and longer). Limited here, after the session
            # has started, so that the BLAS libraries it loads (scipy's) are limited too; the
            # student's process is held to one thread by the sandbox.
            with threadpool_limits(limits=1):
                verdicts = checker.run(tests)
            checked = time.perf_counter()
            findings = checker.findings + _scan(session)
    result.verdicts = {grade_id: {"passed": verdict.passed, "outputs": verdict.outputs,
                                  "student_names": verdict.student_names,
                                  "timed_out": verdict.timed_out}
                       for grade_id, verdict in verdicts.items()}
    result.timeouts += [f"test {grade_id}: a call of the student's code ran out of time"
                        for grade_id, verdict in verdicts.items() if verdict.timed_out]
    result.findings = [{"text": f.text, "scope": f.scope} for f in _unique(findings)]
    result.seconds = {"start": session.startup_seconds,
                      "cells": executed - started - session.startup_seconds,
                      "checks": checked - executed}
    return result


# The student's process caps each cell's outputs, but that process is the student's: the grader
# takes them only as notebook JSON (nbgrader records them, and the result file is JSON), and only
# within these budgets of encoded bytes (JSON may escape a character into six).
MAX_OUTPUT_JSON_BYTES_PER_CELL = 6 * MAX_OUTPUT_BYTES_PER_CELL + 100_000
MAX_OUTPUT_JSON_BYTES_PER_SUBMISSION = 4 * MAX_OUTPUT_JSON_BYTES_PER_CELL


def _grader_note(what: str) -> list[dict]:
    return [{"output_type": "stream", "name": "stderr", "text": CUT_NOTE.format(what=what)}]


def _accepted_outputs(outputs: object, budget: int) -> tuple[list[dict], int]:
    """A cell's outputs as the grader records them, and what is left of the submission's budget:
    plain notebook JSON (a list of output dicts) within the budgets, or else a note saying why
    not. Anything else (NumPy values, NaN, a structure too deep to encode) would stop nbgrader
    or the result file for the whole class."""
    try:
        encoded = json.dumps(outputs, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return _grader_note("the outputs are not notebook JSON"), budget
    decoded = json.loads(encoded)
    if type(decoded) is not list or not all(
            type(output) is dict and type(output.get("output_type")) is str
            for output in decoded):
        return _grader_note("the outputs are not notebook outputs"), budget
    if len(encoded) > min(MAX_OUTPUT_JSON_BYTES_PER_CELL, budget):
        return _grader_note(f"{len(encoded):,} bytes of output, more than the grader keeps"), budget
    return decoded, budget - len(encoded)


def _run_student_cells(job: GradingJob, session: Session, result: GradingResult) -> None:
    """Every code cell except the tests runs in the student's process, in notebook order."""
    budget = MAX_OUTPUT_JSON_BYTES_PER_SUBMISSION
    for index, (cell, role) in enumerate(zip(job.cells, job.roles, strict=True)):
        if cell.get("cell_type") != "code" or role == TEST:
            continue
        try:
            reply = session.run_cell(cell["source"])
        except StudentProcessLost as lost:
            result.cell_outputs[index] = [{
                "output_type": "error", "ename": "TimeoutError" if lost.timed_out else
                "RuntimeError", "evalue": f"This cell was stopped: {lost}", "traceback": []}]
            if lost.timed_out:
                result.timeouts.append(f"{cell_label(index, cell)}: stopped ({lost})")
            continue
        result.cell_outputs[index], budget = _accepted_outputs(reply.get("outputs", []), budget)
        if reply.get("timed_out"):
            result.timeouts.append(f"{cell_label(index, cell)}: ran out of CPU time")


def _scan(session: Session) -> list[Finding]:
    try:
        reply = session.request({"op": "scan"})
    except StudentProcessLost as lost:
        return [Finding(f"the student's process could not be inspected: {lost}")]
    try:
        return [Finding(text) for text in strings(reply.get("findings") if type(reply) is dict
                                                  else None)]
    except MalformedReply:
        return [Finding("the student's process sent a malformed reply to the integrity scan")]


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, kept = set(), []
    for finding in findings:
        if (finding.text, finding.scope) not in seen:
            seen.add((finding.text, finding.scope))
            kept.append(finding)
    return kept
