"""Synthetic students for chapter 2 (the sigmoid link).

Each student makes one mistake that real classes produce. Autograded cells not
listed in `scores` must get full points (or 0 for `based_on="blank"`).
"""

from synthetic import Student

# Right values, but exp(1000) overflows for x = -1000 and NumPy warns.
NAIVE = '''def stable_sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))
'''

# The other textbook form: inf / inf = nan for large positive x.
EXP_OVER_ONE_PLUS_EXP = '''def stable_sigmoid(x):
    e = np.exp(np.asarray(x, dtype=float))
    return e / (1 + e)
'''

# np.where on the two full formulas: right values, but both branches run everywhere and warn.
WHERE_BOTH_BRANCHES = '''def stable_sigmoid(x):
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
'''

# No overflow, but sigma(x) = 1 - sigma(-x) for negative x rounds tiny probabilities to 0.
ONE_MINUS = '''def stable_sigmoid(x):
    x = np.asarray(x, dtype=float)
    positive_side = 1 / (1 + np.exp(-np.abs(x)))
    return np.where(x >= 0, positive_side, 1 - positive_side)
'''

# Hides behind SciPy's sigmoid.
DELEGATING = '''from scipy.special import expit

def stable_sigmoid(x):
    return expit(x)
'''

# Subtracts the rows the wrong way round: gives the probability of class 0.
SWAPPED_DIFFERENCE = '''def two_to_one(W2, b2):
    W2, b2 = np.asarray(W2), np.asarray(b2)
    return W2[0] - W2[1], b2[0] - b2[1]
'''

# Splits the logit symmetrically but forgets to halve it: the difference becomes 2w.
DOUBLED_SPLIT = '''def one_to_two(w, b):
    w = np.asarray(w, dtype=float)
    return np.stack([-w, w]), np.array([-b, b])
'''

# A different but correct answer: any common shift of the two rows is fine.
SHIFTED_SPLIT = '''def one_to_two(w, b):
    w = np.asarray(w, dtype=float)
    return np.stack([-w / 2 + 1.0, w / 2 + 1.0]), np.array([-b / 2 + 3.0, b / 2 + 3.0])
'''


# Takes row 2 of a two-row matrix: IndexError.
TWO_TO_ONE_INDEX_ERROR = '''def two_to_one(W2, b2):
    return W2[2] - W2[0], b2[1] - b2[0]
'''

STUDENTS = [
    Student(
        "naive_sigmoid",
        answers={"sigmoid_impl": NAIVE},
        scores={"sigmoid_robust": 0},
        feedback={"sigmoid_robust": "never exponentiate a large positive number"},
    ),
    Student(
        "exp_over_one_plus_exp",
        answers={"sigmoid_impl": EXP_OVER_ONE_PLUS_EXP},
        scores={"sigmoid_robust": 0},
        feedback={"sigmoid_robust": "use the form that is safe on each side"},
    ),
    Student(
        "where_both_branches",
        answers={"sigmoid_impl": WHERE_BOTH_BRANCHES},
        scores={"sigmoid_robust": 0},
        feedback={"sigmoid_robust": "build both branches from exp(-|x|)"},
    ),
    Student(
        "one_minus_sigmoid",
        answers={"sigmoid_impl": ONE_MINUS},
        scores={"sigmoid_robust": 0},
        feedback={"sigmoid_robust": "rounds small probabilities to 0"},
    ),
    Student(
        "delegating_sigmoid",
        answers={"sigmoid_impl": DELEGATING},
        scores={"sigmoid_basic": 0, "sigmoid_robust": 0},
        feedback={"sigmoid_basic": "stable_sigmoid uses scipy.special.expit"},
    ),
    Student(
        "swapped_difference",
        answers={"two_to_one_impl": SWAPPED_DIFFERENCE},
        scores={"two_to_one_test": 0},
        feedback={"two_to_one_test": "subtract row 0 from row 1"},
    ),
    Student(
        "doubled_split",
        answers={"one_to_two_impl": DOUBLED_SPLIT},
        scores={"one_to_two_test": 0},
        feedback={"one_to_two_test": "the two rows must differ by exactly w"},
    ),
    Student("shifted_split", answers={"one_to_two_impl": SHIFTED_SPLIT}),
    Student(
        "wrong_answers",
        answers={
            "jacobian_impl": "jacobian_answer = 0.104994",
            "probability_impl": "probability_answer = 0.25",
            "max_slope_impl": "max_slope_answer = 0.5",
        },
        scores={"jacobian_test": 0, "probability_test": 0, "max_slope_test": 0},
        feedback={
            "jacobian_test": "an off-diagonal entry of the 2 x 2 Jacobian",
            "probability_test": "mind which class is first",
            "max_slope_test": "for which value of sigma",
        },
    ),
    # Indexes a row W2 does not have: the error names two_to_one, not the test's wrapper.
    Student(
        "two_to_one_index_error",
        answers={"two_to_one_impl": TWO_TO_ONE_INDEX_ERROR},
        scores={"two_to_one_test": 0},
        feedback={"two_to_one_test": "two_to_one raised IndexError"},
    ),
]
