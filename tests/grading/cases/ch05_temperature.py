"""Synthetic students for chapter 5 (temperature): one typical mistake per autograded part.

Autograded cells not listed in `scores` must get full points.
"""

from synthetic import Student

# Divides by T but never subtracts the max, and accepts any T.
NAIVE_SOFTMAX_T = '''def softmax_t(z, T, axis=-1):
    exps = np.exp(np.asarray(z) / T)
    return exps / np.sum(exps, axis=axis, keepdims=True)
'''

# Multiplies by the temperature instead of dividing.
MULTIPLIES_BY_T = '''def softmax_t(z, T, axis=-1):
    if T <= 0:
        raise ValueError("T must be positive")
    scaled = np.asarray(z) * T
    exps = np.exp(scaled - np.max(scaled, axis=axis, keepdims=True))
    return exps / np.sum(exps, axis=axis, keepdims=True)
'''

# Hides behind the course's reference (which also raises for T <= 0).
DELEGATING_SOFTMAX_T = '''import softmax_course
_tempered = softmax_course.softmax

def softmax_t(z, T, axis=-1):
    return _tempered(z, axis=axis, temperature=T)
'''

# Entropy in bits instead of nats.
ENTROPY_BITS = '''def entropy(p, axis=-1):
    p = np.asarray(p, dtype=float)
    logs = np.log2(p, out=np.zeros_like(p), where=p > 0)
    return -np.sum(p * logs, axis=axis)
'''

# Forgets the convention 0 log 0 = 0.
ENTROPY_NAIVE = '''def entropy(p, axis=-1):
    p = np.asarray(p)
    return -np.sum(p * np.log(p), axis=axis)
'''

# A correct search for beta = 1/T, but returns beta instead of T.
FIT_RETURNS_BETA = '''def fit_temperature(logits, labels):
    logits = np.asarray(logits, dtype=float)
    rows = np.arange(len(labels))
    betas = np.exp(np.linspace(np.log(1e-3), np.log(1e3), 4001))
    losses = [np.mean(-softmax_course_log_softmax(logits * b)[rows, labels]) for b in betas]
    return float(betas[int(np.argmin(losses))])


def softmax_course_log_softmax(x):
    top = x.max(axis=-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=-1, keepdims=True))
'''

# A fine golden-section search, but only over 0.1 <= T <= 10 ("temperatures are near 1").
FIT_NARROW_RANGE = '''def fit_temperature(logits, labels):
    logits = np.asarray(logits, dtype=float)
    rows = np.arange(len(labels))

    def loss(t):
        x = logits / t
        top = x.max(axis=-1, keepdims=True)
        logp = x - top - np.log(np.exp(x - top).sum(axis=-1, keepdims=True))
        return -logp[rows, labels].mean()

    lo, hi = 0.1, 10.0
    g = (np.sqrt(5) - 1) / 2
    for _ in range(100):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if loss(a) < loss(b):
            hi = b
        else:
            lo = a
    return (lo + hi) / 2
'''

STUDENTS = [
    Student(
        "naive_softmax_t",
        answers={"softmax_t_impl": NAIVE_SOFTMAX_T},
        scores={"softmax_t_robust": 0, "softmax_t_errors": 0},
        feedback={"softmax_t_robust": "did you subtract the max before exponentiating?",
                  "softmax_t_errors": "should raise ValueError"},
    ),
    Student(
        "multiplies_by_t",
        answers={"softmax_t_impl": MULTIPLIES_BY_T},
        scores={"softmax_t_basic": 0, "softmax_t_robust": 0},
        feedback={"softmax_t_basic": "divide the logits by T"},
    ),
    Student(
        "delegating_softmax_t",
        answers={"softmax_t_impl": DELEGATING_SOFTMAX_T},
        scores={"softmax_t_basic": 0, "softmax_t_robust": 0, "softmax_t_errors": 0},
        feedback={"softmax_t_basic": "softmax_t uses softmax_course.softmax",
                  "softmax_t_errors": "softmax_t uses softmax_course.softmax"},
    ),
    Student(
        "entropy_in_bits",
        answers={"entropy_impl": ENTROPY_BITS},
        scores={"entropy_basic": 0, "entropy_robust": 0},
        feedback={"entropy_basic": "natural logarithm (nats), not log2"},
    ),
    Student(
        "entropy_nan_for_zeros",
        answers={"entropy_impl": ENTROPY_NAIVE},
        scores={"entropy_robust": 0},
        feedback={"entropy_robust": "use the convention 0 log 0 = 0"},
    ),
    Student(
        "fit_returns_beta",
        answers={"fit_temperature_impl": FIT_RETURNS_BETA},
        scores={"fit_temperature_basic": 0, "fit_temperature_robust": 0},
        feedback={"fit_temperature_basic": "return T (not 1/T)"},
    ),
    Student(
        "fit_narrow_range",
        answers={"fit_temperature_impl": FIT_NARROW_RANGE},
        scores={"fit_temperature_robust": 0},
        feedback={"fit_temperature_robust": "does your search cover large temperatures"},
    ),
    Student(
        "wrong_short_answers",
        answers={"sharper_impl": "sharper_t_answer = 2",
                 "entropy_value_impl": "entropy_answer = 1.75"},
        scores={"sharper_test": 0, "entropy_value_test": 0},
        feedback={"sharper_test": "multiplies every logit gap by 1/T",
                  "entropy_value_test": "nats, not bits"},
    ),
]
