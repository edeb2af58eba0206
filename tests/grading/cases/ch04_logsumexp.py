"""Synthetic students for chapter 4 (a stable log-sum-exp and log-softmax).

Each student makes one mistake that real classes produce. Autograded cells not
listed in `scores` must get full points.
"""

from synthetic import Student

# The textbook formula: right for ordinary logits, inf for [1000, 1000].
NAIVE_LOGSUMEXP = '''def logsumexp(z, axis=-1):
    return np.log(np.sum(np.exp(z), axis=axis))
'''

# Shifts by the max but never adds it back: wrong on every input.
FORGOT_MAX = '''def logsumexp(z, axis=-1):
    z_max = np.max(z, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(z - z_max), axis=axis))
'''

# Shifts by the max without guarding an all -inf slice: -inf - (-inf) is nan.
UNGUARDED_SHIFT = '''def logsumexp(z, axis=-1):
    z_max = np.max(z, axis=axis, keepdims=True)
    log_total = np.log(np.sum(np.exp(z - z_max), axis=axis, keepdims=True))
    return np.squeeze(log_total + z_max, axis=axis)
'''

# The composition the chapter warns against: fine until a probability underflows.
LOG_OF_SOFTMAX = '''def log_softmax(z, axis=-1):
    shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return np.log(shifted / np.sum(shifted, axis=axis, keepdims=True))
'''

# Reuses Part 1 but does not guard the all -inf slice: z - LSE is -inf - (-inf) = nan there.
UNGUARDED_LOG_SOFTMAX = '''def log_softmax(z, axis=-1):
    return z - np.expand_dims(logsumexp(z, axis=axis), axis)
'''

# Delegates to SciPy under another name.
DELEGATING_LOG_SOFTMAX = '''from scipy import special as _special
_helper = _special.log_softmax

def log_softmax(z, axis=-1):
    return _helper(z, axis=axis)
'''

STUDENTS = [
    Student(
        "naive_logsumexp",
        answers={"logsumexp_impl": NAIVE_LOGSUMEXP},
        scores={"logsumexp_robust": 0},
        feedback={"logsumexp_robust": "subtract the max before exponentiating"},
    ),
    Student(
        "forgot_max",
        answers={"logsumexp_impl": FORGOT_MAX},
        scores={"logsumexp_basic": 0, "logsumexp_robust": 0},
        feedback={"logsumexp_basic": "if you subtracted the max, add it back"},
    ),
    Student(
        "unguarded_shift",
        answers={"logsumexp_impl": UNGUARDED_SHIFT},
        scores={"logsumexp_robust": 0},
        feedback={"logsumexp_robust": "when a slice's max is -inf, shift it by 0 instead"},
    ),
    Student(
        "log_of_softmax",
        answers={"log_softmax_impl": LOG_OF_SOFTMAX},
        scores={"log_softmax_robust": 0},
        feedback={"log_softmax_robust": "rounds the tiny probability to 0 before the log"},
    ),
    Student(
        "unguarded_log_softmax",
        answers={"log_softmax_impl": UNGUARDED_LOG_SOFTMAX},
        scores={"log_softmax_robust": 0},
        feedback={"log_softmax_robust": "subtract 0 there instead"},
    ),
    Student(
        "delegating_log_softmax",
        answers={"log_softmax_impl": DELEGATING_LOG_SOFTMAX},
        scores={"log_softmax_basic": 0, "log_softmax_robust": 0},
        feedback={"log_softmax_basic": "scipy.special.log_softmax"},
    ),
    Student(
        "wrong_answers",
        answers={
            "safe_float32_impl": "safe_float32_answer = 709.78",
            "lse_gap_impl": "lse_gap_answer = 0.0",
            "hessian_trace_impl": "hessian_trace_answer = 1.0",
        },
        scores={"safe_float32_test": 0, "lse_gap_test": 0, "hessian_trace_test": 0},
        feedback={
            "safe_float32_test": "log of the largest float32",
            "lse_gap_test": "factor e^max out of the sum",
            "hessian_trace_test": "not diag(s) alone",
        },
    ),
    # An unreadable file must be reported by name, not abort the batch.
    Student("not_json", raw='{"cells": [ this is not JSON'),
]
