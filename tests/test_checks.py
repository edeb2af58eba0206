"""The exercise checks: helpful messages, no expected values, no stderr, no delegation."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.special

import softmax_course
from softmax_course import checks

pytestmark = pytest.mark.filterwarnings("error")  # the checks themselves must never warn


def reference(z, axis=-1):
    return softmax_course.softmax(z, axis=axis)


def stable(z, axis=-1):
    shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def naive(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)


def test_a_correct_function_passes_every_kind_of_case():
    rng = np.random.default_rng(0)
    checks.compare(stable, reference, rng.normal(size=(3, 4)), axis=0, case="a batch")
    checks.compare(stable, reference, np.array([1000.0, 999.0]), case="big logits")
    checks.compare(stable, reference, rng.normal(size=5).astype(np.float32), case="float32",
                   check_dtype=True)


def test_overflow_is_reported_with_the_hint_and_numpy_warning():
    with pytest.raises(checks.CheckFailure) as failure:
        checks.compare(naive, reference, np.array([1000.0, 999.0]), case="logits near 1000",
                       hint="did you subtract the max?")
    message = str(failure.value)
    assert "naive returned nan for logits near 1000: did you subtract the max?" in message
    assert "overflow encountered in exp" in message


def test_wrong_values_report_the_error_size_but_never_the_expected_values():
    z = np.array([0.3, 1.7, -2.2])
    expected = reference(z)

    def off_by_a_bit(z, axis=-1):
        return stable(z, axis) + 0.01

    with pytest.raises(checks.CheckFailure) as failure:
        checks.compare(off_by_a_bit, reference, z, case="three logits", hint="check the sum")
    message = str(failure.value)
    assert "3 of 3 entries off" in message and "check the sum" in message
    for value in expected:
        for shown in (f"{value:.2f}", f"{value:.3f}", f"{value:.4f}", repr(float(value))):
            assert shown not in message


def test_wrong_shape_and_dtype_and_none_are_named():
    with pytest.raises(checks.CheckFailure, match=r"returned shape \(1,\)"):
        checks.compare(lambda z, axis=-1: np.ones(1), reference, np.zeros(3), case="three logits")
    with pytest.raises(checks.CheckFailure, match=r"returned dtype float64 .* float32 input"):
        checks.compare(lambda z, axis=-1: stable(z.astype(np.float64)), reference,
                       np.zeros(3, np.float32), case="float32 logits", check_dtype=True)
    with pytest.raises(checks.CheckFailure, match="forget the `return`"):
        checks.compare(lambda z, axis=-1: None, reference, np.zeros(3), case="three logits")


def test_not_implemented_and_crashes_become_messages():
    def unfinished(z, axis=-1):
        raise NotImplementedError()

    def crashing(z, axis=-1):
        return z[5]

    with pytest.raises(checks.CheckFailure, match="not implemented yet"):
        checks.compare(unfinished, reference, np.zeros(3), case="three logits")
    with pytest.raises(checks.CheckFailure, match="raised IndexError for three logits"):
        checks.compare(crashing, reference, np.zeros(3), case="three logits")


def test_quiet_keeps_warnings_off_stderr(capfd):
    with checks.quiet() as caught:
        np.exp(np.array([1000.0]))
        warnings.warn("student print-debugging", UserWarning, stacklevel=1)
    messages = {str(w.message) for w in caught}
    assert messages == {"overflow encountered in exp", "student print-debugging"}
    assert capfd.readouterr().err == ""


def test_answers_and_choices_do_not_reveal_the_answer():
    checks.check_answer(np.exp(2.5), np.exp(2.5), name="ratio_answer")
    with pytest.raises(checks.CheckFailure) as failure:
        checks.check_answer(2.5, np.exp(2.5), name="ratio_answer", hint="only differences matter")
    assert "12.18" not in str(failure.value) and "only differences matter" in str(failure.value)
    with pytest.raises(checks.CheckFailure, match="has no answer yet"):
        checks.check_answer(..., 4, name="dof_answer")
    with pytest.raises(checks.CheckFailure, match="should be a number"):
        checks.check_answer("four", 4, name="dof_answer")
    with pytest.raises(checks.CheckFailure, match="not the right choice"):
        checks.check_choice("a", "b", name="sharper_answer", options=("a", "b"))
    with pytest.raises(checks.CheckFailure, match="should be one of"):
        checks.check_choice("c", "b", name="sharper_answer", options=("a", "b"))


# --- delegation --------------------------------------------------------------------

_saved_reference = softmax_course.softmax
_saved_scipy = scipy.special.softmax


def delegates_to_a_renamed_course_function(z, axis=-1):
    return _saved_reference(z, axis=axis)


def delegates_to_scipy_through_a_helper(z, axis=-1):
    return _helper(z, axis)


def _helper(z, axis):
    return _saved_scipy(z, axis=axis)


def test_honest_implementations_pass_the_delegation_check():
    checks.forbid_delegation(stable, np.zeros(3))
    checks.forbid_delegation(naive, np.zeros(3))


@pytest.mark.parametrize(
    ("function", "library"),
    [
        (delegates_to_a_renamed_course_function, "softmax_course.softmax"),
        (delegates_to_scipy_through_a_helper, "scipy.special.softmax"),
        (lambda z, axis=-1: softmax_course.log_softmax(z, axis=axis), "softmax_course.log_softmax"),
    ],
)
def test_delegation_is_caught_even_under_another_name(function, library):
    with pytest.raises(checks.CheckFailure, match=re.escape(library)):
        checks.forbid_delegation(function, np.zeros(3))


def test_allowed_course_functions_may_be_used():
    def attention_like(z, axis=-1):
        return softmax_course.softmax(z, axis=axis) * 1.0

    checks.forbid_delegation(attention_like, np.zeros(3), allow=(softmax_course.softmax,))


def test_delegation_check_survives_a_crashing_function():
    def crashing(z, axis=-1):
        _saved_reference(z)
        raise ValueError("boom")

    with pytest.raises(checks.CheckFailure, match=re.escape("softmax_course.softmax")):
        checks.forbid_delegation(crashing, np.zeros(3))


def test_methods_of_reference_classes_count_as_delegation():
    def merges_with_the_course_state(x, axis=-1):
        state = softmax_course.OnlineSoftmaxState.empty().update(x)
        return np.exp(x - state.logsumexp)

    with pytest.raises(checks.CheckFailure, match=re.escape("OnlineSoftmaxState.update")):
        checks.forbid_delegation(merges_with_the_course_state, np.zeros(3))


def test_what_an_allowed_function_calls_inside_is_not_delegation():
    # cross_entropy is built on log_softmax; allowing it must not flag log_softmax.
    def mean_loss(logits, labels):
        return softmax_course.cross_entropy(logits, labels) * 1.0

    checks.forbid_delegation(mean_loss, np.zeros((2, 3)), np.array([0, 2]),
                             allow=(softmax_course.cross_entropy,))
