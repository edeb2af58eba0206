"""Synthetic students for chapter 7 (attention with masks over batch and head axes).

Each student makes one mistake that real classes produce. Autograded cells not listed in `scores`
must get full points.
"""

from synthetic import Student

NO_SCALE = '''def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2)
    if mask is None:
        mask = np.ones(scores.shape[-2:], dtype=bool)
    mask = np.broadcast_to(mask, scores.shape)
    row_max = np.max(scores, axis=-1, keepdims=True, where=mask, initial=-np.inf)
    row_max = np.where(row_max == -np.inf, 0.0, row_max)
    exps = np.exp(np.where(mask, scores - row_max, -np.inf))
    sums = np.sum(exps, axis=-1, keepdims=True)
    weights = np.divide(exps, sums, out=np.zeros_like(exps), where=sums > 0)
    return weights @ v
'''

IGNORES_MASK = '''def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    exps = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    return exps / np.sum(exps, axis=-1, keepdims=True) @ v
'''

NAIVE_EXP = '''def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is None:
        mask = True
    exps = np.exp(scores) * mask
    return exps / np.sum(exps, axis=-1, keepdims=True) @ v
'''

NAN_ROWS = '''def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    exps = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    return exps / np.sum(exps, axis=-1, keepdims=True) @ v
'''

WARNS = '''def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    exps = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    weights = np.nan_to_num(exps / np.sum(exps, axis=-1, keepdims=True))
    return weights @ v
'''

FLOAT64_SQRT = '''def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is None:
        mask = np.ones(scores.shape[-2:], dtype=bool)
    mask = np.broadcast_to(mask, scores.shape)
    row_max = np.max(scores, axis=-1, keepdims=True, where=mask, initial=-np.inf)
    row_max = np.where(row_max == -np.inf, 0.0, row_max)
    exps = np.exp(np.where(mask, scores - row_max, -np.inf))
    sums = np.sum(exps, axis=-1, keepdims=True)
    weights = np.divide(exps, sums, out=np.zeros_like(exps), where=sums > 0)
    return weights @ v
'''

DELEGATING = '''import softmax_course as sc

def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = np.broadcast_to(mask, scores.shape)
    return sc.softmax(scores, axis=-1, where=mask) @ v
'''

BOTTOM_RIGHT = '''def causal_mask(L, S):
    return np.tril(np.ones((L, S), dtype=bool), k=S - L)
'''

QK_UNNORMALISED = '''def qk_norm_scores(q, k, g):
    return g * (q @ np.swapaxes(k, -1, -2))
'''

QK_WRONG_AXIS = '''def qk_norm_scores(q, k, g):
    q_hat = q / np.linalg.norm(q, axis=-2, keepdims=True)
    k_hat = k / np.linalg.norm(k, axis=-2, keepdims=True)
    return g * (q_hat @ np.swapaxes(k_hat, -1, -2))
'''

QK_FLOAT64 = '''def qk_norm_scores(q, k, g):
    q_hat = q / np.linalg.norm(q, axis=-1, keepdims=True)
    k_hat = k / np.linalg.norm(k, axis=-1, keepdims=True)
    return np.float64(g) * (q_hat @ np.swapaxes(k_hat, -1, -2))
'''

QK_IN_PLACE = '''def qk_norm_scores(q, k, g):
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    k = k / np.linalg.norm(k, axis=-1, keepdims=True)
    return float(g) * (q @ np.swapaxes(k, -1, -2))
'''

STUDENTS = [
    Student(
        "no_scale",
        answers={"attention_impl": NO_SCALE},
        scores={"attention_basic": 0, "attention_masks": 0, "attention_edge": 0},
        feedback={"attention_basic": "the softmax of q k^T / sqrt(d)"},
    ),
    Student(
        "ignores_mask",
        answers={"attention_impl": IGNORES_MASK},
        scores={"attention_masks": 0, "attention_edge": 0},
        feedback={"attention_masks": "must get weight exactly 0"},
    ),
    Student(
        "naive_exp",
        answers={"attention_impl": NAIVE_EXP},
        scores={"attention_edge": 0},
        feedback={"attention_edge": "subtract the row maximum of the scores"},
    ),
    Student(
        "nan_for_fully_masked_rows",
        answers={"attention_impl": NAN_ROWS},
        scores={"attention_edge": 0},
        feedback={"attention_edge": "a fully masked row must give an output row of zeros"},
    ),
    Student(
        "warns_for_fully_masked_rows",
        answers={"attention_impl": WARNS},
        scores={"attention_edge": 0},
        feedback={"attention_edge": "without any warning"},
    ),
    Student(
        "float64_sqrt",
        answers={"attention_impl": FLOAT64_SQRT},
        scores={"attention_edge": 0},
        feedback={"attention_edge": "use math.sqrt(d)"},
    ),
    Student(
        "delegating",
        answers={"attention_impl": DELEGATING},
        scores={"attention_basic": 0, "attention_masks": 0, "attention_edge": 0},
        feedback={"attention_basic": "attention uses softmax_course.softmax"},
    ),
    Student(
        "bottom_right_causal",
        answers={"causal_impl": BOTTOM_RIGHT},
        scores={"causal_test": 0},
        feedback={"causal_test": "aligned at the top-left corner"},
    ),
    Student(
        "wrong_answers",
        answers={"variance_impl": "variance_answer = 8.0", "pairs_impl": "pairs_answer = 100",
                 "unseen_impl": "unseen_answer = 3"},
        scores={"variance_test": 0, "pairs_test": 0, "unseen_test": 0},
        feedback={"variance_test": "add up their variances", "pairs_test": "add 1 + 2 + ...",
                  "unseen_test": "count the rest"},
    ),
    Student(
        "qk_scores_unnormalised",
        answers={"qk_scores_impl": QK_UNNORMALISED},
        scores={"qk_scores_basic": 0, "qk_scores_hard": 0},
        feedback={"qk_scores_basic": "should give exactly g"},
    ),
    Student(
        "qk_scores_normalised_along_the_wrong_axis",
        answers={"qk_scores_impl": QK_WRONG_AXIS},
        scores={"qk_scores_basic": 0, "qk_scores_hard": 0},
        feedback={"qk_scores_basic": "own length"},
    ),
    Student(
        "qk_scores_promote_float32",
        answers={"qk_scores_impl": QK_FLOAT64},
        scores={"qk_scores_hard": 0},
        feedback={"qk_scores_hard": "multiply by g as a Python float"},
    ),
    Student(
        "qk_scores_modify_their_input",
        answers={"qk_scores_impl": QK_IN_PLACE},
        scores={"qk_scores_hard": 0},
        feedback={"qk_scores_hard": "changed its input q"},
    ),
    Student(
        "max_weight_without_the_factor_two",
        answers={"max_weight_impl": "max_weight_answer = 1 / (1 + 7 * np.exp(-3.0))"},
        scores={"max_weight_test": 0},
        feedback={"max_weight_test": "give one key the largest score"},
    ),
    # The odds e^(2g) / 7 instead of a weight: the visible test's range catches it.
    Student(
        "max_weight_as_odds",
        answers={"max_weight_impl": "max_weight_answer = np.exp(6.0) / 7"},
        scores={"max_weight_test": 0},
        feedback={"max_weight_test": "`max_weight_answer` cannot be above 1. An attention "
                                     "weight is a probability."},
    ),
    # A corrupted file is reported by name and does not stop the batch.
    Student("not_json", raw='{"cells": [ this is not JSON'),
]
