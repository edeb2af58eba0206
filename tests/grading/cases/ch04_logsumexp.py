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

# The Part 5 students' feedback phrases are single tokens: failure messages are wrapped
# (softmax_course.testing.layout), so a phrase with spaces may break across lines.

# Part 5 ignores the temperature: right at T = 1 only.
NO_TEMPERATURE = '''def max_entropy_value(z, temperature=1.0):
    return logsumexp(np.asarray(z, dtype=float), axis=-1)
'''

# Part 5 with the right formula computed naively: exp(z / T) overflows for small T.
NAIVE_MAX_ENTROPY = '''def max_entropy_value(z, temperature=1.0):
    z = np.asarray(z, dtype=float)
    return temperature * np.log(np.sum(np.exp(z / temperature), axis=-1))
'''

# Part 5 answered with the largest logit: the limit T -> 0, not the maximum at T.
LARGEST_LOGIT = '''def max_entropy_value(z, temperature=1.0):
    return np.max(np.asarray(z, dtype=float), axis=-1)
'''


# Reduces without keepdims: right for 1-D logits, a broadcasting ValueError for a batch.
LOG_SOFTMAX_WITHOUT_KEEPDIMS = '''def log_softmax(z, axis=-1):
    m = np.max(z, axis=axis)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis))
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
            # forgets that the sum of 1000 terms overflows before one term does
            "safe_float32_impl": "safe_float32_answer = 88.72",
            "lse_gap_impl": "lse_gap_answer = 0.0",
            "hessian_trace_impl": "hessian_trace_answer = 1.0",
        },
        scores={"safe_float32_test": 0, "lse_gap_test": 0, "hessian_trace_test": 0},
        feedback={
            "safe_float32_test": "the sum is 1000 e^x",
            "lse_gap_test": "factor e^max out of the sum",
            "hessian_trace_test": "not diag(s) alone",
        },
    ),
    Student(
        "max_entropy_no_temperature",
        answers={"max_entropy_impl": NO_TEMPERATURE},
        scores={"max_entropy_temperature": 0},
        feedback={"max_entropy_temperature": "temperature-1"},
    ),
    Student(
        "max_entropy_naive",
        answers={"max_entropy_impl": NAIVE_MAX_ENTROPY},
        scores={"max_entropy_temperature": 0},
        feedback={"max_entropy_temperature": "0.002"},
    ),
    Student(
        "max_entropy_largest_logit",
        answers={"max_entropy_impl": LARGEST_LOGIT},
        scores={"max_entropy_basic": 0, "max_entropy_temperature": 0},
        feedback={"max_entropy_basic": "closed-form"},
    ),
    # An unreadable file must be reported by name, not abort the batch.
    Student("not_json", raw='{"cells": [ this is not JSON'),
    # Forgets keepdims (issue 11): the visible batch check names the call and the usual cause.
    Student(
        "log_softmax_without_keepdims",
        answers={"log_softmax_impl": LOG_SOFTMAX_WITHOUT_KEEPDIMS},
        scores={"log_softmax_basic": 0, "log_softmax_robust": 0},
        feedback={"log_softmax_basic": "raised ValueError for a batch of 2 rows"},
    ),
]
