"""Which cells of a notebook are the instructor's: decided by the gradebook, never by the file.

A submitted notebook's cell metadata is the student's to edit: a cell can claim
to be locked, or a test cell can claim to be an answer. So the trusted process
asks the gradebook. A cell is **trusted** (its code runs in the grader's
checker) when its id names a locked source cell that is not an answer; it is a
**test** when that cell is also graded code. Everything else is the
student's and runs in the sandbox. nbgrader's sanitizing has already put the
gradebook's source into every trusted cell; :func:`assign` makes sure of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a grading worker imports this module: importing nbgrader there costs ~3 s
    from nbgrader.api import Gradebook

STUDENT, TRUSTED, TEST = "student", "trusted", "test"


def instructor_cells(gradebook: Gradebook, assignment: str, notebook: str
                     ) -> dict[str, tuple[str, str]]:
    """grade_id -> (role, source) for the instructor's locked, non-answer cells."""
    record = gradebook.find_notebook(notebook, assignment)
    answers = {cell.name for cell in record.solution_cells}
    graded_code = {cell.name for cell in record.grade_cells if cell.cell_type == "code"}
    return {cell.name: (TEST if cell.name in graded_code else TRUSTED, cell.source)
            for cell in record.source_cells
            if cell.locked and cell.cell_type == "code" and cell.name not in answers}


def assign(cells: list[dict], instructor: dict[str, tuple[str, str]]) -> list[str]:
    """The role of each cell; trusted cells get the gradebook's source, whatever the file said."""
    roles = []
    seen: set[str] = set()
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id in instructor and grade_id not in seen:
            seen.add(grade_id)
            role, source = instructor[grade_id]
            cell["source"] = source
            roles.append(role)
        else:
            roles.append(STUDENT)
    return roles
