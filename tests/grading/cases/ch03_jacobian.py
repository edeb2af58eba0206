"""Synthetic students for chapter 3 (the Jacobian of softmax, its VJP and a gradient check).

Each student makes one mistake that real classes produce. Autograded cells not listed in
`scores` must get full points.
"""

from synthetic import Student

# Right formula, but exp without the max-shift: nan for logits near 1000.
NAIVE_JACOBIAN = '''def softmax_jacobian(z):
    exps = np.exp(z)
    s = exps / np.sum(exps)
    return np.diag(s) - np.outer(s, s)
'''

# Forgets diag(s): only the rank-one part, so the diagonal is -s_i^2 instead of s_i(1 - s_i).
NO_DIAGONAL = '''def softmax_jacobian(z):
    s = softmax(z)
    return -np.outer(s, s)
'''

# Hides behind the course's own Jacobian.
DELEGATING_JACOBIAN = '''import softmax_course
_helper = softmax_course.softmax_jacobian

def softmax_jacobian(z):
    return _helper(z)
'''

# Correct values, but builds the K x K matrix: fine for K = 3, hopeless for a vocabulary.
MATRIX_VJP = '''def softmax_vjp(s, g, axis=-1):
    s = np.asarray(s)
    g = np.asarray(g)
    if s.ndim == 1:
        return (np.diag(s) - np.outer(s, s)).T @ g
    s_last, g_last = np.moveaxis(s, axis, -1), np.moveaxis(g, axis, -1)
    jac = s_last[..., :, None] * (np.eye(s_last.shape[-1]) - s_last[..., None, :])
    out = np.einsum("...ij,...i->...j", jac, g_last)
    return np.moveaxis(out, -1, axis)
'''

# Keeps only the diagonal of J: s * g, forgetting the rank-one correction.
DIAGONAL_VJP = '''def softmax_vjp(s, g, axis=-1):
    return np.asarray(s) * np.asarray(g)
'''

# Divides by eps instead of 2 eps.
HALF_STEP = '''def numerical_jacobian(f, z, eps=1e-6):
    z = np.array(z, dtype=np.float64)
    columns = []
    for j in range(z.size):
        step = np.zeros_like(z)
        step[j] = eps
        columns.append((np.asarray(f(z + step)) - np.asarray(f(z - step))) / eps)
    return np.stack(columns, axis=1)
'''

# Stacks the columns as rows: right for symmetric Jacobians, wrong shape otherwise.
TRANSPOSED = '''def numerical_jacobian(f, z, eps=1e-6):
    z = np.array(z, dtype=np.float64)
    rows = []
    for j in range(z.size):
        step = np.zeros_like(z)
        step[j] = eps
        rows.append((np.asarray(f(z + step)) - np.asarray(f(z - step))) / (2 * eps))
    return np.array(rows)
'''

# A one-sided difference: accurate to about eps, not eps**2.
FORWARD_DIFFERENCE = '''def numerical_jacobian(f, z, eps=1e-6):
    z = np.array(z, dtype=np.float64)
    base = np.asarray(f(z), dtype=np.float64)
    jac = np.empty((base.size, z.size))
    for j in range(z.size):
        step = np.zeros_like(z)
        step[j] = eps
        jac[:, j] = (np.asarray(f(z + step)) - base) / eps
    return jac
'''

STUDENTS = [
    Student(
        "naive_jacobian",
        answers={"jacobian_impl": NAIVE_JACOBIAN},
        scores={"jacobian_robust": 0},
        feedback={"jacobian_robust": "did you subtract the max before exponentiating?"},
    ),
    Student(
        "no_diagonal",
        answers={"jacobian_impl": NO_DIAGONAL},
        scores={"jacobian_basic": 0, "jacobian_robust": 0},
        feedback={"jacobian_basic": "the diagonal holds s_i (1 - s_i)"},
    ),
    Student(
        "delegating_jacobian",
        answers={"jacobian_impl": DELEGATING_JACOBIAN},
        scores={"jacobian_basic": 0, "jacobian_robust": 0},
        feedback={"jacobian_basic": "uses softmax_course.softmax_jacobian"},
    ),
    Student(
        "matrix_vjp",
        answers={"vjp_impl": MATRIX_VJP},
        scores={"vjp_large": 0},
        feedback={"vjp_large": "that is the size of a K x K matrix"},
    ),
    Student(
        "diagonal_vjp",
        answers={"vjp_impl": DIAGONAL_VJP},
        scores={"vjp_basic": 0, "vjp_large": 0},
        feedback={"vjp_basic": "J^T g = s * (g - sum(s * g))"},
    ),
    Student(
        "half_step",
        answers={"numjac_impl": HALF_STEP},
        scores={"numjac_basic": 0, "numjac_robust": 0},
        feedback={"numjac_basic": "column j"},
    ),
    Student(
        "transposed",
        answers={"numjac_impl": TRANSPOSED},
        scores={"numjac_robust": 0},
        feedback={"numjac_robust": "one row per output of f and one column per input"},
    ),
    Student(
        "forward_difference",
        answers={"numjac_impl": FORWARD_DIFFERENCE},
        scores={"numjac_robust": 0},
        feedback={"numjac_robust": "a one-sided difference is only accurate to about eps"},
    ),
    Student(
        "wrong_answers",
        answers={"entry_impl": "entry_answer = 0.2", "rank_impl": "rank_answer = 6",
                 "memory_impl": "memory_gb_answer = 80.0"},
        scores={"entry_test": 0, "rank_test": 0, "memory_test": 0},
        feedback={"entry_test": "mind its sign", "rank_test": "send to zero",
                  "memory_test": "each as many bytes as one float32"},
    ),
]
