"""Synthetic students for chapter 6 (cross-entropy from logits, its gradient, a training step).

Each student makes one mistake that real classes make. Autograded cells not listed in `scores`
must get full points (or 0 for `based_on="blank"`).
"""

from synthetic import Student

# Max-shifted softmax, then the log of a probability that can underflow to 0.
LOG_OF_SOFTMAX = '''def cross_entropy(logits, labels):
    exps = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    probabilities = exps / np.sum(exps, axis=-1, keepdims=True)
    return np.mean(-np.log(probabilities[np.arange(len(labels)), labels]))
'''

SUM_NOT_MEAN = '''def cross_entropy(logits, labels):
    row_max = np.max(logits, axis=-1, keepdims=True)
    lse = row_max[:, 0] + np.log(np.sum(np.exp(logits - row_max), axis=-1))
    return np.sum(lse - logits[np.arange(len(labels)), labels])
'''

DELEGATING_CE = '''import softmax_course
_loss = softmax_course.cross_entropy

def cross_entropy(logits, labels):
    return _loss(logits, labels)
'''

GRAD_WITHOUT_MEAN = '''def cross_entropy_grad(logits, labels):
    exps = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    probabilities = exps / np.sum(exps, axis=-1, keepdims=True)
    probabilities[np.arange(len(labels)), labels] -= 1.0
    return probabilities
'''

# A training step built on the course's functions, so only the gradient part is wrong.
TRAIN_WITH_COURSE_FUNCTIONS = '''import softmax_course as sc

def train_step(W, b, X, y, lr):
    logits = X @ W + b
    grad = sc.cross_entropy_grad(logits, y)
    return W - lr * (X.T @ grad), b - lr * grad.sum(axis=0), sc.cross_entropy(logits, y)
'''

GRADIENT_ASCENT = '''def train_step(W, b, X, y, lr):
    logits = X @ W + b
    grad = cross_entropy_grad(logits, y)
    return W + lr * (X.T @ grad), b + lr * grad.sum(axis=0), cross_entropy(logits, y)
'''

IN_PLACE = '''def train_step(W, b, X, y, lr):
    logits = X @ W + b
    grad = cross_entropy_grad(logits, y)
    W -= lr * (X.T @ grad)
    b -= lr * grad.sum(axis=0)
    return W, b, cross_entropy(logits, y)
'''

STUDENTS = [
    Student(
        "log_of_softmax",
        answers={"ce_impl": LOG_OF_SOFTMAX},
        scores={"ce_robust": 0},
        feedback={"ce_robust": "never log(softmax(z))"},
    ),
    Student(
        "sum_not_mean",
        answers={"ce_impl": SUM_NOT_MEAN},
        # The reference train_step calls the student's own cross_entropy, so Part 3 fails too.
        scores={"ce_basic": 0, "ce_robust": 0, "train_basic": 0, "train_robust": 0},
        feedback={"ce_basic": "return the mean of the per-example losses"},
    ),
    Student(
        "delegating_ce",
        answers={"ce_impl": DELEGATING_CE},
        scores={"ce_basic": 0, "ce_robust": 0},
        feedback={"ce_basic": "cross_entropy uses softmax_course.cross_entropy"},
    ),
    Student(
        "grad_without_mean",
        answers={"grad_impl": GRAD_WITHOUT_MEAN, "train_impl": TRAIN_WITH_COURSE_FUNCTIONS},
        scores={"grad_basic": 0, "grad_robust": 0},
        feedback={"grad_basic": "each row's p - y is divided by N"},
    ),
    Student(
        "gradient_ascent",
        answers={"train_impl": GRADIENT_ASCENT},
        scores={"train_basic": 0, "train_robust": 0},
        feedback={"train_basic": "subtract lr times the gradient"},
    ),
    Student(
        "in_place_update",
        answers={"train_impl": IN_PLACE},
        scores={"train_robust": 0},
        feedback={"train_robust": "changed W or b in place"},
    ),
    Student(
        "wrong_answers",
        answers={
            "uniform_impl": "uniform_loss_answer = 0.1",
            "grad_entry_impl": "grad_entry_answer = 0.1142",
            "gap_impl": "smoothing_gap_answer = float(np.log(0.8 / 0.2))",
        },
        scores={"uniform_test": 0, "grad_entry_test": 0, "gap_test": 0},
        feedback={
            "uniform_test": "every class gets probability 1/K",
            "grad_entry_test": "the entry is negative",
            "gap_test": "vanishes when p equals the smoothed target",
        },
    ),
]
