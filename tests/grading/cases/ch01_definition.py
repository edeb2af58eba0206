"""Synthetic students for the pilot assignment (chapter 1: a batched softmax).

Each student makes one mistake, or one attempt to game the grader, that real
classes produce. Autograded cells not listed in `scores` must get full points
(or 0 for `based_on="blank"`).
"""

import copy

import nbformat
from synthetic import Student, cell_index

NAIVE = '''def softmax(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)
'''

WRONG_AXIS = '''def softmax(z, axis=-1):
    shifted = z - np.max(z)
    exps = np.exp(shifted)
    return exps / np.sum(exps)
'''

# Saves the course's reference under another name, then hides behind it.
DELEGATING = '''import softmax_course
_helper = softmax_course.softmax

def softmax(z, axis=-1):
    return _helper(z, axis=axis)
'''

SYNTAX_ERROR = '''def softmax(z, axis=-1)
    return np.exp(z) / np.sum(np.exp(z), axis=axis, keepdims=True)
'''

INFINITE_LOOP = '''def softmax(z, axis=-1):
    while True:
        pass
'''


def _delete_robust_tests(notebook):
    del notebook.cells[cell_index(notebook, "softmax_robust")]


def _neuter_robust_tests(notebook):
    notebook.cells[cell_index(notebook, "softmax_robust")].source = "pass  # all good!"


def _duplicate_answer_cell(notebook):
    index = cell_index(notebook, "softmax_impl")
    duplicate = copy.deepcopy(notebook.cells[index])
    duplicate.id = "copied-answer-cell"  # Jupyter gives a pasted cell a new id
    notebook.cells.insert(index + 1, duplicate)


# A cell that claims to be the instructor's must still run in the sandbox: if it ran in the
# grader's checker it would leave this file on the grading machine.
FORGED_MARKER = "/tmp/softmax-course-forged-locked-cell-ran-in-the-checker"


def _forge_a_locked_cell(notebook):
    forged = copy.deepcopy(notebook.cells[cell_index(notebook, "setup")])
    forged.id = "forged-locked-cell"
    forged.metadata["nbgrader"]["grade_id"] = "forged"
    forged.source = f"open({FORGED_MARKER!r}, 'w').write('ran')"
    notebook.cells.insert(cell_index(notebook, "ratio_impl"), forged)


def _relabel_test_as_answer(notebook):
    # Claims the robust tests are an answer cell, so that its outputs would be graded.
    cell = notebook.cells[cell_index(notebook, "softmax_robust")]
    cell.metadata["nbgrader"]["solution"] = True
    cell.source = "print('all tests passed')"


# What an honest, curious student adds to the notebook: none of it may cost a point or a flag.
EXPLORING_CELLS = [
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    "%timeit -n 3 -r 1 softmax(np.arange(10.0))",
    "import scipy.special\nprint(scipy.special.softmax([1.0, 2.0]))  # comparing, not delegating",
    "from IPython.display import Markdown, display\ndisplay(Markdown('**my notes**'))",
    "import warnings\nwarnings.warn('just checking')",
    "%load_ext autoreload\n%autoreload 2",
    "from tqdm import tqdm\nfor _ in tqdm(range(3)):\n    pass",
    "help(np.exp)",
]


def _explore(notebook):
    for source in EXPLORING_CELLS:
        notebook.cells.append(nbformat.v4.new_code_cell(source))


STUDENTS = [
    Student(
        "naive",
        answers={"softmax_impl": NAIVE},
        scores={"softmax_robust": 0},
        feedback={"softmax_robust": "did you subtract the max before exponentiating?"},
    ),
    Student(
        "wrong_axis",
        answers={"softmax_impl": WRONG_AXIS},
        scores={"softmax_basic": 0, "softmax_robust": 0},
        feedback={"softmax_basic": "each row must sum to 1 on its own"},
    ),
    Student(
        "delegating",
        answers={"softmax_impl": DELEGATING},
        scores={"softmax_basic": 0, "softmax_robust": 0},
        feedback={"softmax_basic": "softmax uses softmax_course.softmax"},
    ),
    Student(
        "syntax_error",
        answers={"softmax_impl": SYNTAX_ERROR},
        scores={"softmax_basic": 0, "softmax_robust": 0},
    ),
    Student(
        "infinite_loop",
        answers={"softmax_impl": INFINITE_LOOP},
        scores={"softmax_basic": 0, "softmax_robust": 0},
    ),
    # Deleting a test cell earns nothing and loses nothing: it is put back and run.
    Student("deleted_test", edit=_delete_robust_tests),
    # Editing a test cell to pass is undone: the original checks run again.
    Student(
        "edited_test",
        answers={"softmax_impl": NAIVE},
        edit=_neuter_robust_tests,
        scores={"softmax_robust": 0},
    ),
    # A copied cell must not abort the batch (nbgrader #1083).
    Student("duplicated_cell", edit=_duplicate_answer_cell),
    Student(
        "wrong_answers",
        answers={"ratio_impl": "ratio_answer = 2.5", "dof_impl": "dof_answer = 5",
                 "sharper_impl": 'sharper_answer = "a"'},
        scores={"ratio_test": 0, "dof_test": 0, "sharper_test": 0},
        feedback={"ratio_test": "only z_i - z_j is left", "dof_test": "changes nothing",
                  "sharper_test": "compare the gaps between the logits"},
    ),
    # The visible test of a choice names the options, and a value that is none of them.
    Student(
        "choice_not_offered",
        answers={"sharper_impl": 'sharper_answer = "B"'},
        scores={"sharper_test": 0},
        feedback={"sharper_test": "`sharper_answer` should be 'a' or 'b', but it is 'B'."},
    ),
    Student("not_json", raw='{"cells": [ this is not JSON'),
    Student("exploring", edit=_explore),
    # Cell metadata is the student's to edit: the gradebook decides which cells are trusted.
    Student("forged_locked_cell", edit=_forge_a_locked_cell),
    Student("test_relabelled_as_answer", answers={"softmax_impl": NAIVE},
            edit=_relabel_test_as_answer, scores={"softmax_robust": 0}),
]
