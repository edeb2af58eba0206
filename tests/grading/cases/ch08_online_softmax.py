"""Synthetic students for chapter 8 (online softmax, blocked softmax, tiled attention).

Each student makes one mistake that real classes make. Autograded cells not listed in `scores`
must get full points (or 0 for `based_on="blank"`).
"""

from synthetic import Student

# The textbook formula with no guard: two empty states give exp(-inf - (-inf)) = nan, and so
# does an all -inf block; the blocked softmax built on it fails on leading -inf blocks.
UNGUARDED_MERGE = '''def merge(m1, d1, m2, d2):
    m = np.maximum(m1, m2)
    return m, d1 * np.exp(m1 - m) + d2 * np.exp(m2 - m)


def online_update(m, d, block):
    block_max = np.max(block, initial=-np.inf)
    return merge(m, d, block_max, np.sum(np.exp(block - block_max)))
'''

# Pass 2 divides exp(x) by d * exp(m) instead of exponentiating x - m: right for small logits,
# inf / inf = nan near 1000.
UNSHIFTED_SECOND_PASS = '''def blocked_softmax(x, block_size):
    x = np.asarray(x, dtype=float)
    m, d = -np.inf, 0.0
    for start in range(0, len(x), block_size):
        m, d = online_update(m, d, x[start:start + block_size])
    out = np.zeros_like(x)
    for start in range(0, len(x), block_size):
        out[start:start + block_size] = np.exp(x[start:start + block_size]) / (d * np.exp(m))
    return out
'''

# Correct values, but the whole L x S score matrix is built: only the memory test fails.
FULL_SCORE_MATRIX = '''def tiled_attention(q, k, v, block_k, mask=None):
    scores = q @ k.T / np.sqrt(q.shape[1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    row_max = np.max(scores, axis=1, keepdims=True)
    row_max = np.where(np.isneginf(row_max), 0.0, row_max)
    weights = np.exp(scores - row_max)
    total = np.sum(weights, axis=1, keepdims=True)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    return weights @ v
'''

# Rescales the normaliser but forgets to rescale the accumulated output.
OUTPUT_NOT_RESCALED = '''def tiled_attention(q, k, v, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    m = np.full((q.shape[0], 1), -np.inf)
    l = np.zeros((q.shape[0], 1))
    acc = np.zeros((q.shape[0], v.shape[1]))
    for start in range(0, k.shape[0], block_k):
        s = q @ k[start:start + block_k].T * scale
        if mask is not None:
            s = np.where(mask[:, start:start + block_k], s, -np.inf)
        m_new = np.maximum(m, s.max(axis=1, keepdims=True))
        shift = np.where(np.isneginf(m_new), 0.0, m_new)
        p = np.exp(s - shift)
        l = l * np.exp(m - shift) + p.sum(axis=1, keepdims=True)
        acc = acc + p @ v[start:start + block_k]
        m = m_new
    return np.divide(acc, l, out=np.zeros_like(acc), where=l > 0)
'''

# Saves the course's FlashAttention under another name, then hides behind it.
DELEGATING_FLASH = '''import softmax_course
_fast = softmax_course.flash_attention

def tiled_attention(q, k, v, block_k, mask=None):
    return _fast(q, k, v, block_k=block_k, mask=mask)
'''

# Hides behind the course's state class: forbid_delegation watches its methods too.
DELEGATING_STATE = '''from softmax_course import OnlineSoftmaxState as _State

def merge(m1, d1, m2, d2):
    merged = _State(m1, d1).merge(_State(m2, d2))
    return merged.max, merged.normalizer


def online_update(m, d, block):
    updated = _State(m, d).update(block)
    return updated.max, updated.normalizer
'''

STUDENTS = [
    Student(
        "unguarded_merge",
        answers={"merge_impl": UNGUARDED_MERGE},
        scores={"merge_edge": 0, "blocked_robust": 0},
        # the feedback wraps its messages, so the phrase stops before the line break
        feedback={"merge_edge": "guard the case where the new maximum"},
    ),
    Student(
        "unshifted_second_pass",
        answers={"blocked_impl": UNSHIFTED_SECOND_PASS},
        scores={"blocked_robust": 0},
        feedback={"blocked_robust": "subtract the running maximum m before np.exp"},
    ),
    Student(
        "full_score_matrix",
        answers={"tiled_impl": FULL_SCORE_MATRIX},
        scores={"tiled_memory": 0},
        feedback={"tiled_memory": "score matrix must not be built"},
    ),
    Student(
        "output_not_rescaled",
        answers={"tiled_impl": OUTPUT_NOT_RESCALED},
        scores={"tiled_basic": 0, "tiled_masked": 0},
        feedback={"tiled_basic": "rescale the accumulated output by alpha"},
    ),
    Student(
        "delegating_flash",
        answers={"tiled_impl": DELEGATING_FLASH},
        scores={"tiled_basic": 0, "tiled_masked": 0, "tiled_memory": 0},
        feedback={"tiled_basic": "tiled_attention uses softmax_course.flash_attention"},
    ),
    Student(
        "delegating_state",
        answers={"merge_impl": DELEGATING_STATE},
        # blocked_softmax is built on the student's own online_update, which here is the
        # course's OnlineSoftmaxState in disguise: that part delegates too.
        scores={"merge_basic": 0, "merge_edge": 0, "blocked_basic": 0, "blocked_robust": 0},
        feedback={"merge_basic": "uses softmax_course.OnlineSoftmaxState"},
    ),
    Student(
        "wrong_answers",
        answers={"accesses_impl": "accesses_answer = (4 * 2**20, 2 * 2**20)",
                 "merged_impl": "merged_answer = (5.0, 3.5)",
                 # 8 bytes per entry: the float64 habit, in a float32 question
                 "score_mib_impl": "score_mib_answer = 6000 * 6000 * 8 / 2**20"},
        scores={"accesses_test": 0, "merged_test": 0, "score_mib_test": 0},
        feedback={"accesses_test": "the store of the result",
                  "merged_test": "rescaled by exp(m - M)",
                  "score_mib_test": "4 bytes each in float32"},
    ),
    # Counts the loads only (3 and 2 passes), forgetting the store of the result: the mistake
    # the chapter's counting once made.
    Student(
        "loads_only",
        answers={"accesses_impl": "accesses_answer = (3 * 2**20, 2 * 2**20)"},
        scores={"accesses_test": 0},
        feedback={"accesses_test": "and the store of the result"},
    ),
]
