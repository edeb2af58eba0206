"""Synthetic students for chapter 8 (online softmax, blocked softmax, tiled attention and
its backward pass).

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

# Part 4. Forgets D: dS = P * dP. dV is right, dQ and dK are not.
FORGOT_DELTA = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    shift = np.where(np.isneginf(lse), 0.0, lse)[:, None]
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for start in range(0, k.shape[0], block_k):
        stop = min(start + block_k, k.shape[0])
        s = q @ k[start:stop].T * scale
        if mask is not None:
            s = np.where(mask[:, start:stop], s, -np.inf)
        p = np.exp(s - shift)
        dv[start:stop] = p.T @ d_out
        ds = p * (d_out @ v[start:stop].T)
        dq += ds @ k[start:stop] * scale
        dk[start:stop] = ds.T @ q * scale
    return dq, dk, dv
'''

# D from the tile alone: rowsum(P_J * dP_J) is only part of D_i = rowsum(dO * O) when a row
# spans several tiles (right when one tile holds every key).
DELTA_PER_TILE = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    shift = np.where(np.isneginf(lse), 0.0, lse)[:, None]
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for start in range(0, k.shape[0], block_k):
        stop = min(start + block_k, k.shape[0])
        s = q @ k[start:stop].T * scale
        if mask is not None:
            s = np.where(mask[:, start:stop], s, -np.inf)
        p = np.exp(s - shift)
        dv[start:stop] = p.T @ d_out
        dp = d_out @ v[start:stop].T
        ds = p * (dp - np.sum(p * dp, axis=1, keepdims=True))
        dq += ds @ k[start:stop] * scale
        dk[start:stop] = ds.T @ q * scale
    return dq, dk, dv
'''

# Accumulates dK transposed, (d, S), and returns it so: right values, wrong shape.
DK_TRANSPOSED = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    delta = np.sum(d_out * out, axis=1, keepdims=True)
    shift = np.where(np.isneginf(lse), 0.0, lse)[:, None]
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.T.shape), np.zeros(v.shape)
    for start in range(0, k.shape[0], block_k):
        stop = min(start + block_k, k.shape[0])
        s = q @ k[start:stop].T * scale
        if mask is not None:
            s = np.where(mask[:, start:stop], s, -np.inf)
        p = np.exp(s - shift)
        dv[start:stop] = p.T @ d_out
        ds = p * (d_out @ v[start:stop].T - delta)
        dq += ds @ k[start:stop] * scale
        dk[:, start:stop] = q.T @ ds * scale
    return dq, dk, dv
'''

# Scales the queries in place to save a copy: right gradients, but the caller's q is changed.
SCALES_Q_IN_PLACE = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    q *= scale
    delta = np.sum(d_out * out, axis=1, keepdims=True)
    shift = np.where(np.isneginf(lse), 0.0, lse)[:, None]
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for start in range(0, k.shape[0], block_k):
        stop = min(start + block_k, k.shape[0])
        s = q @ k[start:stop].T
        if mask is not None:
            s = np.where(mask[:, start:stop], s, -np.inf)
        p = np.exp(s - shift)
        dv[start:stop] = p.T @ d_out
        ds = p * (d_out @ v[start:stop].T - delta)
        dq += ds @ k[start:stop] * scale
        dk[start:stop] = ds.T @ q
    return dq, dk, dv
'''

# exp(a - lse) with no guard: a query that may attend nothing has lse = -inf and gets nan.
UNGUARDED_LSE = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    delta = np.sum(d_out * out, axis=1, keepdims=True)
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for start in range(0, k.shape[0], block_k):
        stop = min(start + block_k, k.shape[0])
        s = q @ k[start:stop].T * scale
        if mask is not None:
            s = np.where(mask[:, start:stop], s, -np.inf)
        p = np.exp(s - lse[:, None])
        dv[start:stop] = p.T @ d_out
        ds = p * (d_out @ v[start:stop].T - delta)
        dq += ds @ k[start:stop] * scale
        dk[start:stop] = ds.T @ q * scale
    return dq, dk, dv
'''

# Right values, but P and dS are built whole: only the memory test fails.
WHOLE_MATRICES = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    scale = 1.0 / np.sqrt(q.shape[1])
    s = q @ k.T * scale
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    p = np.exp(s - np.where(np.isneginf(lse), 0.0, lse)[:, None])
    ds = p * (d_out @ v.T - np.sum(d_out * out, axis=1, keepdims=True))
    return ds @ k * scale, ds.T @ q * scale, p.T @ d_out
'''

# Saves the course's backward pass under another name, then hides behind it.
DELEGATING_BACKWARD = '''import softmax_course
_gradients = softmax_course.flash_attention_backward

def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    return _gradients(q, k, v, out, lse, d_out, block_k=block_k, mask=mask)
'''

# Honest and right, written another way: tiles of queries as well as of keys, P set only where
# the score is allowed, dK and dV gathered per tile and stacked at the end. Full marks.
TILED_BOTH_WAYS = '''def tiled_attention_backward(q, k, v, out, lse, d_out, block_k, mask=None):
    q, k, v = (np.asarray(a, dtype=float) for a in (q, k, v))
    tau = 1 / np.sqrt(q.shape[1])
    D = (d_out * out).sum(axis=1)
    finite = np.isfinite(lse)
    dq = np.zeros_like(q)
    dk_tiles, dv_tiles = [], []
    for j in range(0, len(k), block_k):
        kj, vj = k[j:j + block_k], v[j:j + block_k]
        dk_j, dv_j = np.zeros_like(kj), np.zeros_like(vj)
        for i in range(0, len(q), 2):
            rows = slice(i, i + 2)
            s = q[rows] @ kj.T * tau
            keep = np.repeat(finite[rows, None], len(kj), axis=1)
            if mask is not None:
                keep &= mask[rows, j:j + block_k]
            p = np.zeros_like(s)
            p[keep] = np.exp((s - np.where(finite[rows], lse[rows], 0)[:, None])[keep])
            ds = p * (d_out[rows] @ vj.T - D[rows, None])
            dq[rows] += tau * ds @ kj
            dk_j += tau * ds.T @ q[rows]
            dv_j += p.T @ d_out[rows]
        dk_tiles.append(dk_j)
        dv_tiles.append(dv_j)
    return dq, np.concatenate(dk_tiles), np.concatenate(dv_tiles)
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
        "backward_forgot_delta",
        answers={"backward_impl": FORGOT_DELTA},
        scores={"backward_basic": 0, "backward_masked": 0},
        feedback={"backward_basic": "did you subtract D = rowsum(dO * O)"},
    ),
    Student(
        "backward_delta_per_tile",
        answers={"backward_impl": DELTA_PER_TILE},
        scores={"backward_basic": 0, "backward_masked": 0},
        feedback={"backward_basic": "one number per query for its whole row"},
    ),
    Student(
        "backward_dk_transposed",
        answers={"backward_impl": DK_TRANSPOSED},
        scores={"backward_basic": 0, "backward_masked": 0},
        feedback={"backward_basic": "the dk of tiled_attention_backward returned shape (4, 6)"},
    ),
    Student(
        "backward_scales_q_in_place",
        answers={"backward_impl": SCALES_Q_IN_PLACE},
        scores={"backward_masked": 0},
        feedback={"backward_masked": "changed the arrays it was given as q"},
    ),
    Student(
        "backward_unguarded_lse",
        answers={"backward_impl": UNGUARDED_LSE},
        scores={"backward_masked": 0},
        feedback={"backward_masked": "exp(-inf - (-inf)) is nan: guard that row"},
    ),
    Student(
        "backward_whole_matrices",
        answers={"backward_impl": WHOLE_MATRICES},
        scores={"backward_memory": 0},
        feedback={"backward_memory": "no L x S matrix (P, dP or dS) may be built"},
    ),
    Student(
        "backward_delegating",
        answers={"backward_impl": DELEGATING_BACKWARD},
        scores={"backward_basic": 0, "backward_masked": 0, "backward_memory": 0},
        feedback={"backward_basic": "uses softmax_course.flash_attention_backward"},
    ),
    Student(
        "backward_honest_query_and_key_tiles",
        answers={"backward_impl": TILED_BOTH_WAYS},
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
