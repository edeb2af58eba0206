"""Synthetic students for chapter 9 (sparsemax by sorting and its vector-Jacobian product).

Each student makes one mistake that real classes produce. Autograded cells not listed in `scores`
must get full points.
"""

from synthetic import Student

ASCENDING_SORT = '''def sparsemax(z):
    z = np.asarray(z)
    z = z - np.max(z, axis=-1, keepdims=True)
    ordered = np.sort(z, axis=-1)
    cumulative = np.cumsum(ordered, axis=-1)
    ranks = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    k = np.count_nonzero(1 + ranks * ordered > cumulative, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, k - 1, axis=-1) - 1) / k
    return np.maximum(z - tau, 0)
'''

ONE_VECTOR_ONLY = '''def sparsemax(z):
    z = np.asarray(z, dtype=float)
    descending = np.sort(z)[::-1]
    cumulative = np.cumsum(descending)
    ranks = np.arange(1, z.size + 1)
    k = np.count_nonzero(1 + ranks * descending > cumulative)
    tau = (cumulative[k - 1] - 1) / k
    return np.maximum(z - tau, 0)
'''

FLOAT64 = '''def sparsemax(z):
    z = np.asarray(z, dtype=np.float64)
    z = z - np.max(z, axis=-1, keepdims=True)
    descending = -np.sort(-z, axis=-1)
    cumulative = np.cumsum(descending, axis=-1)
    ranks = np.arange(1, z.shape[-1] + 1)
    k = np.count_nonzero(1 + ranks * descending > cumulative, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, k - 1, axis=-1) - 1) / k
    return np.maximum(z - tau, 0)
'''

IN_PLACE = '''def sparsemax(z):
    z -= np.max(z, axis=-1, keepdims=True)
    descending = -np.sort(-z, axis=-1)
    cumulative = np.cumsum(descending, axis=-1)
    ranks = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    k = np.count_nonzero(1 + ranks * descending > cumulative, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, k - 1, axis=-1) - 1) / k.astype(z.dtype)
    return np.maximum(z - tau, 0)
'''

DELEGATING = '''import softmax_course

def sparsemax(z):
    return softmax_course.sparsemax(z)
'''

SOFTMAX_LIKE_VJP = '''def sparsemax_vjp(p, g):
    return p * (g - np.sum(p * g, axis=-1, keepdims=True))
'''

STUDENTS = [
    Student(
        "sorts_in_increasing_order",
        answers={"sparsemax_impl": ASCENDING_SORT},
        scores={"sparsemax_basic": 0, "sparsemax_batch": 0},
        feedback={"sparsemax_basic": "decreasing order"},
    ),
    Student(
        "one_vector_only",
        answers={"sparsemax_impl": ONE_VECTOR_ONLY},
        scores={"sparsemax_batch": 0},
        feedback={"sparsemax_batch": "keepdims=True"},
    ),
    Student(
        "promotes_float32",
        answers={"sparsemax_impl": FLOAT64},
        scores={"sparsemax_batch": 0},
        feedback={"sparsemax_batch": "keep float32"},
    ),
    Student(
        "modifies_its_input",
        answers={"sparsemax_impl": IN_PLACE},
        scores={"sparsemax_batch": 0},
        feedback={"sparsemax_batch": "changed its input"},
    ),
    Student(
        "delegating",
        answers={"sparsemax_impl": DELEGATING},
        scores={"sparsemax_basic": 0, "sparsemax_batch": 0},
        feedback={"sparsemax_basic": "uses softmax_course.sparsemax"},
    ),
    Student(
        "softmax_vjp_for_sparsemax",
        answers={"vjp_impl": SOFTMAX_LIKE_VJP},
        scores={"vjp_test": 0},
        feedback={"vjp_test": "not a mean weighted by p"},
    ),
    Student(
        "wrong_answers",
        answers={"tau_impl": "tau_answer = (2.0 + 1.3 + 0.9 - 1) / 3",
                 "temperature_impl": "temperature_answer = 2.75 - 0.4"},
        scores={"tau_test": 0, "temperature_test": 0},
        feedback={"tau_test": "support size first",
                  "temperature_test": "two largest logits matter"},
    ),
    # Signs flipped: the visible tests' ranges catch both.
    Student(
        "answers_of_the_wrong_sign",
        answers={"tau_impl": "tau_answer = (1 - 2.0 - 1.3) / 2",
                 "temperature_impl": "temperature_answer = 1.1 - 2.75"},
        scores={"tau_test": 0, "temperature_test": 0},
        feedback={"tau_test": "`tau_answer` cannot be below 1. The largest logit, 2.0, keeps "
                              "the probability 2.0 - tau, which lies in (0, 1].",
                  "temperature_test": "`temperature_answer` cannot be below 0. A temperature "
                                      "is positive."},
    ),
]
