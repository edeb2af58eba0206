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

# A correct search for beta = 1/T, but returns beta instead of T. The grid's 3.5 % steps keep
# the run short (it is scored on 8 datasets); returning 1/T misses by far more than a step.
FIT_RETURNS_BETA = '''def fit_temperature(logits, labels):
    logits = np.asarray(logits, dtype=float)
    rows = np.arange(len(labels))
    betas = np.exp(np.linspace(np.log(1e-3), np.log(1e3), 401))
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

# Exponential noise, -log U, instead of Gumbel noise: argmax(z + E) is not a softmax sample.
GUMBEL_EXPONENTIAL_NOISE = '''def gumbel_max_sample(logits, uniforms, T=1.0):
    noise = -np.log(np.asarray(uniforms))
    return np.argmax(np.asarray(logits) / T + noise, axis=-1)
'''

# Gumbel-max without the temperature.
GUMBEL_IGNORES_T = '''def gumbel_max_sample(logits, uniforms, T=1.0):
    noise = -np.log(-np.log(np.asarray(uniforms)))
    return np.argmax(np.asarray(logits) + noise, axis=-1)
'''

# Cuts the tempered distribution to the nucleus but does not renormalise.
TOP_P_NOT_RENORMALISED = '''def top_p_softmax(logits, p, T=1.0):
    z = np.asarray(logits, dtype=float)
    q = np.exp((z - z.max()) / T)
    q = q / q.sum()
    above = np.array([q[q > v].sum() for v in q])
    return np.where((above < p) & (q > 0), q, 0.0)
'''

# Chooses the nucleus from softmax(z), then applies the temperature inside it.
TOP_P_NUCLEUS_BEFORE_T = '''def top_p_softmax(logits, p, T=1.0):
    z = np.asarray(logits, dtype=float)
    q1 = np.exp(z - z.max())
    q1 = q1 / q1.sum()
    above = np.array([q1[q1 > v].sum() for v in q1])
    keep = (above < p) & (q1 > 0)
    q = np.exp((z - z.max()) / T)
    kept = np.where(keep, q, 0.0)
    return kept / kept.sum()
'''

# Sorts and cuts at a position, so a run of tied tokens can be split.
TOP_P_SPLITS_TIES = '''def top_p_softmax(logits, p, T=1.0):
    z = np.asarray(logits, dtype=float)
    q = np.exp((z - z.max()) / T)
    q = q / q.sum()
    order = np.argsort(-q)
    before = np.cumsum(q[order]) - q[order]
    keep = np.zeros(q.shape, dtype=bool)
    keep[order[before < p]] = True
    kept = np.where(keep & (q > 0), q, 0.0)
    return kept / kept.sum()
'''

# exp(z / T) without subtracting the max: nan for logits near 1000.
TOP_P_UNSTABLE = '''def top_p_softmax(logits, p, T=1.0):
    q = np.exp(np.asarray(logits, dtype=float) / T)
    q = q / q.sum()
    above = np.array([q[q > v].sum() for v in q])
    kept = np.where((above < p) & (q > 0), q, 0.0)
    return kept / kept.sum()
'''

# Hides behind the course's nucleus mask and softmax.
TOP_P_DELEGATES = '''import softmax_course as _course

def top_p_softmax(logits, p, T=1.0):
    kept = _course.top_p_mask(logits, p, temperature=T)
    return _course.softmax(logits, temperature=T, where=kept)
'''


# Right for T > 0, but returns nan for T = 0 instead of raising ValueError.
SOFTMAX_T_ACCEPTS_ZERO = '''def softmax_t(z, T, axis=-1):
    y = z / T
    e = np.exp(y - np.max(y, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
'''

STUDENTS = [
    Student(
        "naive_softmax_t",
        answers={"softmax_t_impl": NAIVE_SOFTMAX_T},
        scores={"softmax_t_robust": 0, "softmax_t_errors": 0},
        feedback={"softmax_t_robust": "did you subtract the max before exponentiating?",
                  "softmax_t_errors": "raised no ValueError for T = 0"},
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
        feedback={"fit_temperature_basic": "and return T"},
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
    # An array is not one of the offered numbers: a readable failure, not NumPy's ValueError.
    Student(
        "choice_as_an_array",
        answers={"sharper_impl": "sharper_t_answer = np.array([0.5])"},
        scores={"sharper_test": 0},
        feedback={"sharper_test": "`sharper_t_answer` should be 0.5 or 2, but it is a float64 "
                                  "array of shape (1,)."},
    ),
    Student(
        "gumbel_exponential_noise",
        answers={"gumbel_max_impl": GUMBEL_EXPONENTIAL_NOISE},
        scores={"gumbel_max_basic": 0, "gumbel_max_robust": 0},
        feedback={"gumbel_max_basic": "add G = -log(-log U) to each logit"},
    ),
    Student(
        "gumbel_ignores_temperature",
        answers={"gumbel_max_impl": GUMBEL_IGNORES_T},
        scores={"gumbel_max_robust": 0},
        feedback={"gumbel_max_robust": "divide the logits by T before adding the noise"},
    ),
    Student(
        "top_p_not_renormalised",
        answers={"top_p_impl": TOP_P_NOT_RENORMALISED},
        scores={"top_p_basic": 0, "top_p_robust": 0},
        feedback={"top_p_basic": "divide by the kept total"},
    ),
    Student(
        "top_p_nucleus_before_temperature",
        answers={"top_p_impl": TOP_P_NUCLEUS_BEFORE_T},
        scores={"top_p_basic": 0, "top_p_robust": 0},
        feedback={"top_p_basic": "apply the temperature first"},
    ),
    Student(
        "top_p_splits_ties",
        answers={"top_p_impl": TOP_P_SPLITS_TIES},
        scores={"top_p_robust": 0},
        feedback={"top_p_robust": "tied tokens are kept together"},
    ),
    Student(
        "top_p_unstable",
        answers={"top_p_impl": TOP_P_UNSTABLE},
        scores={"top_p_robust": 0},
        feedback={"top_p_robust": "compute the softmax stably"},
    ),
    Student(
        "top_p_delegates",
        answers={"top_p_impl": TOP_P_DELEGATES},
        scores={"top_p_basic": 0, "top_p_robust": 0},
        feedback={"top_p_basic": "top_p_softmax uses softmax_course.softmax"},
    ),
    # Never checks T: T = 0 gives nan quietly, and the check says no ValueError was raised.
    Student(
        "softmax_t_accepts_zero",
        answers={"softmax_t_impl": SOFTMAX_T_ACCEPTS_ZERO},
        scores={"softmax_t_errors": 0},
        feedback={"softmax_t_errors": "raised no ValueError for T = 0"},
    ),
]
