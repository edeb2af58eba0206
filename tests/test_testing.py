"""The exercise checks: helpful messages, no expected values, no stderr, no delegation.

Every helper is also run through a fake grading proxy (the student's function in "another
process"), and against a student function that works in place on its input.
"""

from __future__ import annotations

import ast
import concurrent.futures
import importlib
import inspect
import json
import os
import pickle
import pkgutil
import re
import subprocess
import sys
import threading
import tracemalloc
import types
import warnings

import numpy as np
import pytest
import scipy.special

import softmax_course
from softmax_course import testing

pytestmark = pytest.mark.filterwarnings("error")  # the checks themselves must never warn


def reference(z, axis=-1):
    return softmax_course.softmax(z, axis=axis)


def stable(z, axis=-1):
    shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def naive(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)


def _flat(message: str) -> str:
    """A failure's text without its line layout (which depends on the lengths of names)."""
    return " ".join(message.split())


def test_a_correct_function_passes_every_kind_of_case():
    rng = np.random.default_rng(0)
    testing.compare(stable, reference, rng.normal(size=(3, 4)), axis=0, case="a batch")
    testing.compare(stable, reference, np.array([1000.0, 999.0]), case="big logits")
    testing.compare(stable, reference, rng.normal(size=5).astype(np.float32), case="float32",
                   check_dtype=True)


def test_overflow_is_reported_with_the_hint_and_numpy_warning():
    with pytest.raises(testing.CheckFailure) as failure:
        testing.compare(naive, reference, np.array([1000.0, 999.0]), case="logits near 1000",
                       hint="did you subtract the max?")
    message = str(failure.value)
    assert message.startswith("naive returned nan for logits near 1000.\n")
    assert "\nHint: did you subtract the max?\n" in message
    assert "overflow encountered in exp" in message


def test_wrong_values_report_the_error_size_but_never_the_expected_values():
    z = np.array([0.3, 1.7, -2.2])
    expected = reference(z)

    def off_by_a_bit(z, axis=-1):
        return stable(z, axis) + 0.01

    with pytest.raises(testing.CheckFailure) as failure:
        testing.compare(off_by_a_bit, reference, z, case="three logits", hint="check the sum")
    message = str(failure.value)
    assert "3 of 3 entries are off" in message and "\nHint: check the sum" in message
    for value in expected:
        for shown in (f"{value:.2f}", f"{value:.3f}", f"{value:.4f}", repr(float(value))):
            assert shown not in message


def test_wrong_shape_and_dtype_and_none_are_named():
    with pytest.raises(testing.CheckFailure, match=r"returned shape \(1,\)"):
        testing.compare(lambda z, axis=-1: np.ones(1), reference, np.zeros(3), case="three logits")
    with pytest.raises(testing.CheckFailure, match=r"returned dtype float64 (.|\n)* float32 input"):
        testing.compare(lambda z, axis=-1: stable(z.astype(np.float64)), reference,
                       np.zeros(3, np.float32), case="float32 logits", check_dtype=True)
    with pytest.raises(testing.CheckFailure, match="forget the `return`"):
        testing.compare(lambda z, axis=-1: None, reference, np.zeros(3), case="three logits")


def test_not_implemented_and_crashes_become_messages():
    def unfinished(z, axis=-1):
        raise NotImplementedError()

    def crashing(z, axis=-1):
        return z[5]

    with pytest.raises(testing.CheckFailure, match="not implemented yet"):
        testing.compare(unfinished, reference, np.zeros(3), case="three logits")
    with pytest.raises(testing.CheckFailure, match="raised IndexError for three logits"):
        testing.compare(crashing, reference, np.zeros(3), case="three logits")


def test_quiet_keeps_warnings_off_stderr(capfd):
    with testing.quiet() as caught:
        np.exp(np.array([1000.0]))
        warnings.warn("student print-debugging", UserWarning, stacklevel=1)
    messages = {str(w.message) for w in caught}
    assert messages == {"overflow encountered in exp", "student print-debugging"}
    assert capfd.readouterr().err == ""


def test_answers_and_choices_do_not_reveal_the_answer():
    testing.check_answer(np.exp(2.5), np.exp(2.5), name="ratio_answer")
    with pytest.raises(testing.CheckFailure) as failure:
        testing.check_answer(2.5, np.exp(2.5), name="ratio_answer", hint="only differences matter")
    assert "12.18" not in str(failure.value) and "only differences matter" in str(failure.value)
    with pytest.raises(testing.CheckFailure, match="has no answer yet"):
        testing.check_answer(..., 4, name="dof_answer")
    with pytest.raises(testing.CheckFailure, match="should be a number"):
        testing.check_answer("four", 4, name="dof_answer")
    with pytest.raises(testing.CheckFailure, match="not the right choice"):
        testing.check_choice("a", "b", name="sharper_answer", options=("a", "b"))
    with pytest.raises(testing.CheckFailure, match="should be one of"):
        testing.check_choice("c", "b", name="sharper_answer", options=("a", "b"))


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
    testing.forbid_delegation(stable, np.zeros(3))
    testing.forbid_delegation(naive, np.zeros(3))


@pytest.mark.parametrize(
    ("function", "library"),
    [
        (delegates_to_a_renamed_course_function, "softmax_course.softmax"),
        (delegates_to_scipy_through_a_helper, "scipy.special.softmax"),
        (lambda z, axis=-1: softmax_course.log_softmax(z, axis=axis), "softmax_course.log_softmax"),
    ],
)
def test_delegation_is_caught_even_under_another_name(function, library):
    with pytest.raises(testing.CheckFailure, match=re.escape(library)):
        testing.forbid_delegation(function, np.zeros(3))


def test_allowed_course_functions_may_be_used():
    def attention_like(z, axis=-1):
        return softmax_course.softmax(z, axis=axis) * 1.0

    testing.forbid_delegation(attention_like, np.zeros(3), allow=(softmax_course.softmax,))


def test_delegation_check_survives_a_crashing_function():
    def crashing(z, axis=-1):
        _saved_reference(z)
        raise ValueError("boom")

    with pytest.raises(testing.CheckFailure, match=re.escape("softmax_course.softmax")):
        testing.forbid_delegation(crashing, np.zeros(3))


def test_methods_of_reference_classes_count_as_delegation():
    def merges_with_the_course_state(x, axis=-1):
        state = softmax_course.OnlineSoftmaxState.empty().update(x)
        return np.exp(x - state.logsumexp)

    with pytest.raises(testing.CheckFailure, match=re.escape("OnlineSoftmaxState.update")):
        testing.forbid_delegation(merges_with_the_course_state, np.zeros(3))


def test_what_an_allowed_function_calls_inside_is_not_delegation():
    # cross_entropy is built on log_softmax; allowing it must not flag log_softmax.
    def mean_loss(logits, labels):
        return softmax_course.cross_entropy(logits, labels) * 1.0

    testing.forbid_delegation(mean_loss, np.zeros((2, 3)), np.array([0, 2]),
                             allow=(softmax_course.cross_entropy,))


def test_only_the_outermost_forbidden_call_is_reported():
    # flash_attention runs private helpers of the course inside; the student called only it.
    saved_flash = softmax_course.flash_attention

    def tiled_attention(q, k, v, block_k):
        return saved_flash(q, k, v, block_k=block_k)

    q = np.zeros((3, 4))
    assert testing.delegated_calls(tiled_attention, q, q, q, 2) == [
        "softmax_course.flash_attention"]


def test_labels_name_course_functions_the_way_failures_do():
    assert testing.label_of(softmax_course.softmax) == "softmax_course.softmax"
    assert testing.label_of(_saved_scipy) == "scipy.special.softmax"
    assert (testing.label_of(softmax_course.OnlineSoftmaxState.merge)
            == "softmax_course.OnlineSoftmaxState.merge")
    assert (testing.label_of(softmax_course._numerics.exp_shifted)
            == "softmax_course._numerics.exp_shifted")
    assert testing.label_of(stable) == f"{__name__}.stable"  # not forbidden: module.name


def test_allow_takes_labels_as_well_as_functions():
    assert testing.delegated_calls(delegates_to_a_renamed_course_function, np.zeros(3),
                                  allow=["softmax_course.softmax"]) == []


def test_allowing_a_course_function_allows_the_helpers_it_uses():
    # The student's function names softmax (allowed), whose module names private helpers:
    # resolving names must not follow into an allowed function.
    testing.forbid_delegation(delegates_to_a_renamed_course_function, np.zeros(3),
                             allow=(softmax_course.softmax,))


def test_a_library_imported_during_the_call_is_checked():
    fake_jax_nn = types.ModuleType("jax.nn")

    def fake_softmax(x):
        return x

    fake_jax_nn.softmax = fake_softmax

    def imports_then_delegates(z):
        sys.modules["jax.nn"] = fake_jax_nn  # what `import jax.nn` inside the function does
        return sys.modules["jax.nn"].softmax(z)

    try:
        assert testing.delegated_calls(imports_then_delegates, np.zeros(3)) == ["jax.nn.softmax"]
    finally:
        sys.modules.pop("jax.nn", None)


# --- each side gets its own copy -----------------------------------------------------


def in_place_softmax(z, axis=-1):
    """A correct softmax that overwrites its input, as a student may write it."""
    z -= np.max(z, axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= np.sum(z, axis=axis, keepdims=True)
    return z


def test_compare_gives_each_side_its_own_copy_of_the_arguments():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 4))
    saved = z.copy()
    testing.compare(in_place_softmax, reference, z, case="a batch")
    testing.compare(in_place_softmax, reference, z=z, axis=0, case="a batch along axis=0")
    testing.compare(in_place_softmax, reference, np.array([1000.0, 999.0]), case="big logits")
    assert np.array_equal(z, saved), "compare must leave the caller's arrays as they were"


def test_call_passes_the_callers_own_objects():
    # so that a test can check whether the student's function modified its input
    z = np.array([1.0, 2.0, 3.0])
    result, _ = testing.call(in_place_softmax, z, case="three logits")
    assert result is z and np.allclose(z, reference(np.array([1.0, 2.0, 3.0])))


def test_delegation_checks_run_on_copies():
    z = np.array([1.0, 2.0, 3.0])
    testing.forbid_delegation(in_place_softmax, z)
    assert testing.delegated_calls(in_place_softmax, z) == []
    assert np.array_equal(z, [1.0, 2.0, 3.0])


def test_peak_memory_runs_on_copies():
    z = np.array([1.0, 2.0, 3.0])
    assert testing.peak_memory(in_place_softmax, z, case="three logits") >= 0
    assert np.array_equal(z, [1.0, 2.0, 3.0])


def test_answer_checks_leave_answers_computed_in_place_alone():
    z = np.array([0.0, 1.0])
    answer = in_place_softmax(z)  # the answer is the student's (overwritten) input array
    kept = answer.copy()
    testing.check_answer(answer, reference(np.array([0.0, 1.0])), name="probabilities_answer")
    assert np.array_equal(answer, kept)
    choices = ["a", "b"]

    def pick(options):
        return options.pop()  # modifies the list it is given

    testing.check_choice(pick(list(choices)), "b", name="sharper_answer", options=choices)
    assert choices == ["a", "b"]


# --- memory --------------------------------------------------------------------------


def builds_a_matrix(k):
    return np.ones((k, k))


def sums_a_vector(v):
    return float(np.sum(v))


def test_peak_memory_counts_what_the_call_allocates():
    k = 500  # a 2 MB matrix
    assert testing.peak_memory(builds_a_matrix, k, case="K = 500") >= k * k * 8
    assert testing.peak_memory(sums_a_vector, np.ones(k * k), case="a vector") < k * k * 8 / 10
    assert not tracemalloc.is_tracing()


def test_peak_memory_leaves_a_running_tracemalloc_running():
    tracemalloc.start()
    try:
        held = np.ones((500, 500))  # allocated before the call: not the call's
        assert testing.peak_memory(sums_a_vector, np.ones(10), case="ten numbers") < held.nbytes
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_peak_memory_reports_crashes_like_call():
    def unfinished(k):
        raise NotImplementedError()

    def crashing(k):
        raise ValueError("boom")

    with pytest.raises(testing.CheckFailure, match="not implemented yet"):
        testing.peak_memory(unfinished, 3, case="K = 3")
    with pytest.raises(testing.CheckFailure, match=re.escape(
            "crashing raised ValueError for K = 3.\nValueError: boom")):
        testing.peak_memory(crashing, 3, case="K = 3")
    # Without a case (as the grader runs it in the student's process) the crash goes through.
    with pytest.raises(ValueError, match="boom"):
        testing.peak_memory(crashing, 3)


# --- grading proxies -----------------------------------------------------------------


class FakeRemote:
    """The grader's side of a proxy, played in this process.

    Like the real one it runs the check's helper on the student's function in "the student's
    process" on its own copy of the arguments (pickled, as between processes), returns plain
    data, and re-raises exceptions as the grader does: a builtin exception keeps its type,
    any other becomes a new Exception subclass with the same name.
    """

    def __init__(self, function):
        self.function = function
        self.requests = []

    def _run(self, measure, args, kwargs):
        args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
        try:
            result = measure(args, kwargs)
        except Exception as error:
            kind = type(error)
            if kind.__module__ != "builtins":
                kind = type(kind.__name__, (Exception,), {})
            raise kind(*error.args) from None
        return pickle.loads(pickle.dumps(result))

    def call(self, args, kwargs):
        self.requests.append("call")

        def measure(args, kwargs):
            with testing.quiet() as caught:
                result = self.function(*args, **kwargs)
            return result, [str(w.message) for w in caught]

        return self._run(measure, args, kwargs)

    def delegated_calls(self, args, kwargs, allow):
        self.requests.append(("delegated_calls", list(allow)))
        return self._run(
            lambda a, k: testing.delegated_calls(self.function, *a, allow=allow, **k), args, kwargs
        )

    def peak_memory(self, args, kwargs):
        self.requests.append("peak_memory")
        return self._run(lambda a, k: testing.peak_memory(self.function, *a, **k), args, kwargs)


class FakeProxy:
    """What a test cell sees at grading time instead of the student's function."""

    def __init__(self, function):
        self.__name__ = function.__name__
        self.__grading_remote__ = FakeRemote(function)

    def __call__(self, *args, **kwargs):
        raise AssertionError("the checks must go through __grading_remote__")


class StudentError(Exception):
    pass


def unfinished(z, axis=-1):
    raise NotImplementedError()


def crashing(z, axis=-1):
    raise ValueError("boom")


def raising_its_own_error(z, axis=-1):
    raise StudentError("my own")


def off_by_a_bit(z, axis=-1):
    return stable(z, axis) + 0.01


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (unfinished, "unfinished is not implemented yet.\n"
                     "Replace `raise NotImplementedError()`"),
        (crashing, "crashing raised ValueError for logits near 1000.\nValueError: boom\n"
                   "Called as crashing(a float64 array of shape (2,))."),
        (raising_its_own_error, "raising_its_own_error raised StudentError for logits near "
                                "1000.\nStudentError: my own"),
        (off_by_a_bit, "off_by_a_bit gave wrong values for logits near 1000.\n"
                       "2 of 2 entries are off"),
        (naive, "naive returned nan for logits near 1000.\nHint: subtract the max\n"
                "NumPy warned: invalid value encountered in divide.\n"
                "NumPy warned: overflow encountered in exp."),
    ],
)
def test_compare_through_a_proxy_keeps_its_messages(function, message):
    proxy = FakeProxy(function)
    with pytest.raises(testing.CheckFailure) as failure:
        testing.compare(proxy, reference, np.array([1000.0, 999.0]), case="logits near 1000",
                       hint="subtract the max")
    assert message in str(failure.value)
    assert proxy.__grading_remote__.requests == ["call"]


def test_correct_functions_pass_through_a_proxy():
    for function in (stable, in_place_softmax):
        testing.compare(FakeProxy(function), reference, np.array([1000.0, 999.0]), case="big")
        testing.forbid_delegation(FakeProxy(function), np.zeros(3))


def test_call_through_a_proxy_returns_the_result_and_the_warnings():
    result, caught = testing.call(FakeProxy(naive), np.array([1000.0, 0.0]), case="big logits")
    assert np.isnan(result).any()
    assert {str(w.message) for w in caught} == {"overflow encountered in exp",
                                                "invalid value encountered in divide"}
    assert all(issubclass(w.category, Warning) for w in caught)
    _, caught = testing.call(FakeProxy(stable), np.array([1000.0, 999.0]), case="big logits")
    assert caught == []
    with pytest.raises(testing.CheckFailure, match=re.escape("raised ValueError for big logits.\n"
                                                             "ValueError: boom")):
        testing.call(FakeProxy(crashing), np.zeros(2), case="big logits")


def test_delegation_through_a_proxy_sends_labels_and_keeps_its_message():
    proxy = FakeProxy(delegates_to_scipy_through_a_helper)
    with pytest.raises(testing.CheckFailure) as failure:
        testing.forbid_delegation(proxy, np.zeros(3), allow=(softmax_course.softmax,))
    assert _flat(str(failure.value)) == (
        "delegates_to_scipy_through_a_helper uses scipy.special.softmax. This exercise asks you "
        "to write the computation yourself with NumPy operations (np.exp, np.max, np.sum, ...)."
    )
    assert proxy.__grading_remote__.requests == [("delegated_calls", ["softmax_course.softmax"])]
    assert testing.delegated_calls(FakeProxy(delegates_to_a_renamed_course_function), np.zeros(3),
                                  allow=(softmax_course.softmax,)) == []


def test_a_proxy_reports_the_delegation_checks_own_failures_as_check_failures():
    with pytest.raises(testing.CheckFailure, match="starts a thread"):
        testing.forbid_delegation(FakeProxy(delegates_in_a_thread), np.zeros(3))


def test_peak_memory_through_a_proxy():
    proxy = FakeProxy(builds_a_matrix)
    assert testing.peak_memory(proxy, 500, case="K = 500") >= 500 * 500 * 8
    assert proxy.__grading_remote__.requests == ["peak_memory"]
    with pytest.raises(testing.CheckFailure, match=re.escape(
            "crashing raised ValueError for K = 3.\nValueError: boom")):
        testing.peak_memory(FakeProxy(crashing), 3, case="K = 3")
    with pytest.raises(testing.CheckFailure, match="not implemented yet"):
        testing.peak_memory(FakeProxy(unfinished), 3, case="K = 3")


# --- bypasses of the delegation check --------------------------------------------------


def _course_functions():
    """Every function and method of every course module the delegation check covers."""
    for info in pkgutil.iter_modules(softmax_course.__path__):
        if info.name in ("testing", "plotting"):
            continue
        module = importlib.import_module(f"softmax_course.{info.name}")
        for member in vars(module).values():
            if getattr(member, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(member):
                yield member
            elif inspect.isclass(member):
                for attribute in vars(member).values():
                    if isinstance(attribute, property):
                        yield attribute.fget
                    elif inspect.isfunction(getattr(attribute, "__func__", attribute)):
                        yield getattr(attribute, "__func__", attribute)


def test_delegation_through_private_helpers_is_caught():
    saved_guarded_exp = softmax_course._numerics.exp_shifted
    saved_product = softmax_course.jacobian._apply_jacobian

    def exponentiates_with_the_course_helper(x):
        weights = saved_guarded_exp(x, np.max(x))
        return weights / np.sum(weights)

    def multiplies_with_the_course_helper(s, g, axis=-1):
        return saved_product(s, g, axis, ("s", "g"))

    assert testing.delegated_calls(exponentiates_with_the_course_helper, np.zeros(3)) == [
        "softmax_course._numerics.exp_shifted"]
    with pytest.raises(testing.CheckFailure, match=re.escape("jacobian._apply_jacobian")):
        testing.forbid_delegation(multiplies_with_the_course_helper, np.ones(3) / 3, np.zeros(3))


def test_delegation_through_any_function_of_a_course_module_is_caught():
    functions = list(_course_functions())
    assert len(functions) > 40
    for function in functions:
        def refers_to_it(z, function=function):
            return z

        assert testing.delegated_calls(refers_to_it, np.zeros(3)), function.__qualname__


def test_delegation_through_reexeced_library_source_is_caught():
    # The whole module's source, run again: new code objects, same code.
    namespace = {"__name__": "student", "__package__": "softmax_course"}
    exec(inspect.getsource(softmax_course.stable), namespace)
    copied_softmax = namespace["softmax"]

    def runs_a_copy(z, axis=-1):
        return copied_softmax(z, axis=axis)

    assert testing.delegated_calls(runs_a_copy, np.zeros(3)) == ["softmax_course.softmax"]

    # One function, renamed, with a renamed local, without its docstring and reformatted.
    tree = ast.parse(inspect.getsource(softmax_course.log_softmax))
    definition = tree.body[0]
    definition.name = "my_log_softmax"
    definition.body = definition.body[1:]  # drop the docstring
    source = re.sub(r"\bshifted\b", "centred", ast.unparse(tree))
    assert "centred" in source
    namespace = dict(vars(softmax_course.stable))
    exec(source, namespace)
    renamed = namespace["my_log_softmax"]

    def runs_a_renamed_copy(z, axis=-1):
        return renamed(z, axis=axis)

    # log_softmax is now a few lines around the module's helpers (7591658): the copy is caught
    # by itself when it is long enough to fingerprint, and by the helpers it calls otherwise.
    found = testing.delegated_calls(runs_a_renamed_copy, np.zeros(3))
    assert found and all(label.startswith("softmax_course.") for label in found), found

    # SciPy's Python source, copied into the student's namespace.
    namespace = dict(_saved_scipy.__globals__)
    exec(inspect.getsource(_saved_scipy), namespace)
    copied_scipy = namespace["softmax"]

    def runs_scipys_source(z, axis=-1):
        return copied_scipy(z, axis=axis)

    with pytest.raises(testing.CheckFailure, match=re.escape("uses scipy.special.softmax")):
        testing.forbid_delegation(runs_scipys_source, np.zeros(3))


# A grader's runtime: the fingerprints come from its worker, and scipy.special is never imported.
PRECOMPUTED_CHILD = """
import json, sys
import numpy as np
import softmax_course
from softmax_course import testing

data = json.loads(sys.stdin.read())
testing._use_precomputed_fingerprints(data["table"])
namespace = {"__name__": "student", "__package__": "softmax_course"}
exec(data["stable_source"], namespace)
exec(data["scipy_source"], namespace)
copied_course, copied_scipy = namespace["logsumexp"], namespace["softmax"]
found = {"honest": testing.delegated_calls(lambda z: np.exp(z) / np.exp(z).sum(), np.zeros(3)),
         "table": sorted(testing._forbidden().fingerprints.items()),
         "scipy_imported": "scipy.special" in sys.modules}


def helper(z):
    return getattr(__import__("scipy.special").special, "softmax")(z)


def imports_scipy_one_call_away(z):
    return helper(z)


# A function that imports SciPy itself (here one call away) is told what it uses.
found["imports_it"] = testing.delegated_calls(imports_scipy_one_call_away, np.zeros(3))
found["course"] = testing.delegated_calls(lambda z: copied_course(z), np.zeros(3))
found["scipy"] = testing.delegated_calls(lambda z: copied_scipy(z), np.zeros(3))
print(json.dumps(found))
"""


def test_precomputed_fingerprints_catch_copies_without_importing_scipy():
    table = testing._precomputed_fingerprints()
    assert "scipy.special" in table["modules"] and "softmax_course.stable" in table["modules"]
    scipy_source = ast.parse(inspect.getsource(_saved_scipy))
    scipy_source.body[0].decorator_list = []  # SciPy's decorators need SciPy
    data = {"table": table, "stable_source": inspect.getsource(softmax_course.stable),
            "scipy_source": ast.unparse(scipy_source)}
    child = subprocess.run([sys.executable, "-I", "-c", PRECOMPUTED_CHILD], check=True,
                           input=json.dumps(data), capture_output=True, text=True)
    found = json.loads(child.stdout)
    assert found["course"] == ["softmax_course.logsumexp"]
    assert found["scipy"] == ["scipy.special.softmax"]
    assert found["honest"] == []
    assert not found["scipy_imported"]
    assert found["imports_it"] == ["scipy.special.softmax"]
    assert dict(found["table"]) == testing._forbidden().fingerprints


def test_a_library_the_function_names_is_imported_before_its_calls_are_watched(monkeypatch):
    monkeypatch.setattr(testing, "_precomputed", (frozenset({"scipy.special"}), {}))
    imported = []
    monkeypatch.setattr(testing, "_import_if_installed", imported.append)
    monkeypatch.delitem(sys.modules, "scipy.special")

    def honest(z):
        return np.exp(z) / np.exp(z).sum()

    def spelled_out(z):
        return __import__("scipy" + ".special")

    testing._import_libraries_it_mentions(honest)
    assert imported == []
    testing._import_libraries_it_mentions(spelled_out)
    assert imported == ["scipy.special"]


@pytest.mark.parametrize("data", [{"modules": "scipy.special", "fingerprints": {}},
                                  {"modules": [], "fingerprints": {"a": 1}},
                                  {"modules": [1], "fingerprints": {}}])
def test_precomputed_fingerprints_of_the_wrong_shape_are_refused(data):
    with pytest.raises(TypeError, match="precomputed fingerprints"):
        testing._use_precomputed_fingerprints(data)


def delegates_in_a_thread(z, axis=-1):
    results = []
    worker = threading.Thread(target=lambda: results.append(_saved_scipy(z, axis=axis)))
    worker.start()
    worker.join()
    return results[0]


def delegates_in_a_thread_pool(z, axis=-1):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_saved_scipy, z, axis=axis).result()


@pytest.mark.parametrize("function", [delegates_in_a_thread, delegates_in_a_thread_pool])
def test_delegation_from_a_worker_thread_is_caught(function):
    tracers = sys.getprofile(), threading.getprofile(), sys.gettrace()
    with pytest.raises(testing.CheckFailure) as failure:
        testing.forbid_delegation(function, np.zeros(3))
    assert _flat(str(failure.value)) == (
        f"{function.__name__} starts a thread, so its calls cannot be checked. "
        "Write the computation directly."
    )
    assert (sys.getprofile(), threading.getprofile(), sys.gettrace()) == tracers


def starts_a_subprocess(z, axis=-1):
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return stable(z, axis)


def runs_a_shell_command(z, axis=-1):
    os.system("true")
    return stable(z, axis)


@pytest.mark.parametrize("function", [starts_a_subprocess, runs_a_shell_command])
def test_delegation_from_a_child_process_is_caught(function):
    with pytest.raises(testing.CheckFailure, match=f"^{function.__name__} starts a process, so"):
        testing.forbid_delegation(function, np.zeros(3))


def turns_the_profiler_off(z, axis=-1):
    sys.setprofile(None)
    return _saved_scipy(z, axis=axis)


def turns_the_profiler_off_and_on_again(z, axis=-1):
    profiler = sys.getprofile()
    sys.setprofile(None)
    try:
        return _saved_scipy(z, axis=axis)
    finally:
        sys.setprofile(profiler)


def turns_the_profiler_off_out_of_sight(z, axis=-1):
    # map calls from C, so the profiler sees no call to sys.setprofile; the audit hook does
    profiler = sys.getprofile()
    list(map(sys.setprofile, [None]))
    result = _saved_scipy(z, axis=axis)
    list(map(sys.setprofile, [profiler]))
    return result


def turns_off_the_profiler_of_new_threads(z, axis=-1):
    threading.setprofile(None)
    return stable(z, axis)


def sets_a_trace_function(z, axis=-1):
    sys.settrace(None)
    return _saved_scipy(z, axis=axis)


@pytest.mark.parametrize(
    "function",
    [turns_the_profiler_off, turns_the_profiler_off_and_on_again,
     turns_the_profiler_off_out_of_sight, turns_off_the_profiler_of_new_threads,
     sets_a_trace_function],
)
def test_turning_off_the_call_tracer_is_caught(function):
    tracers = sys.getprofile(), threading.getprofile(), sys.gettrace()
    with pytest.raises(testing.CheckFailure) as failure:
        testing.forbid_delegation(function, np.zeros(3))
    assert _flat(str(failure.value)).startswith(
        f"{function.__name__} turns off the call tracer, so its calls cannot be checked")
    assert (sys.getprofile(), threading.getprofile(), sys.gettrace()) == tracers  # restored


def test_the_course_state_class_counts_as_delegation():
    # What chapter 8's merge and online_update must not use (the synthetic student
    # "delegating_state" of the grading tests does).
    state_class = softmax_course.OnlineSoftmaxState

    def merge(m1, d1, m2, d2):
        merged = state_class(m1, d1).merge(state_class(m2, d2))
        return merged.max, merged.normalizer

    def online_update(m, d, block):
        updated = state_class(m, d).update(block)
        return updated.max, updated.normalizer

    assert testing.delegated_calls(merge, 0.0, 1.0, 1.0, 1.0) == [
        "softmax_course.OnlineSoftmaxState", "softmax_course.OnlineSoftmaxState.merge"]
    with pytest.raises(testing.CheckFailure) as failure:
        testing.forbid_delegation(online_update, 0.0, 1.0, [2.0])
    assert _flat(str(failure.value)).startswith(
        "online_update uses softmax_course.OnlineSoftmaxState, "
        "softmax_course.OnlineSoftmaxState.update.")


# --- messages as nbgrader validate shows them (issue 11, items 3 to 5) --------------------

# nbgrader validate indents each line of an error by 4 and cuts it after 83 characters.
VALIDATE_KEEPS = 83


def _shown_lines(failure: testing.CheckFailure) -> list[str]:
    """The lines of a failure as the last lines of a traceback show them."""
    return f"CheckFailure: {failure}".split("\n")


def test_messages_fit_the_lines_nbgrader_validate_prints():
    long_hint = ("did you subtract the max before exponentiating? The exponential of a logit "
                 "near 1000 overflows to inf, and inf / inf is nan")
    with pytest.raises(testing.CheckFailure) as failure:
        testing.compare(naive, reference, np.array([1000.0, 999.0]),
                        case="logits near 1000 in a batch of several rows", hint=long_hint)
    lines = _shown_lines(failure.value)
    assert lines[0].startswith("CheckFailure: naive returned nan for logits near 1000 in a")
    assert "Hint: did you subtract the max" in str(failure.value)
    assert all(len(line) <= VALIDATE_KEEPS for line in lines), lines
    assert _flat(str(failure.value)).count(long_hint) == 1  # nothing cut, nothing repeated
    # A message laid out once is laid out for good (a grading proxy re-raises it).
    assert testing.layout(str(failure.value)) == str(failure.value)


def test_a_long_one_line_message_gets_a_short_first_line():
    message = ("`ratio_answer` is not right yet: the ratio of two probabilities of a softmax "
               "depends only on the difference of their logits, so compute exp of that")
    failure = testing.CheckFailure(message)
    lines = _shown_lines(failure)
    assert lines[0] == "CheckFailure: `ratio_answer` is not right yet:"
    assert all(len(line) <= VALIDATE_KEEPS for line in lines)
    assert _flat(str(failure)) == message


def log_softmax(z, axis=-1):
    """Chapter 4's log_softmax with the keepdims forgotten."""
    shifted = z - np.max(z, axis=axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis))


def test_a_crash_says_how_the_function_was_called_and_what_usually_causes_it():
    # Chapter 4's visible test of log_softmax on a batch, with the keepdims forgotten.
    with pytest.raises(testing.CheckFailure) as failure:
        testing.call(log_softmax, np.ones((2, 3)), case="a batch of 2 rows")
    message = str(failure.value)
    lines = message.split("\n")
    assert lines[0] == "log_softmax raised ValueError for a batch of 2 rows."
    assert "operands could not be broadcast together with shapes (2,3) (2,)" in message
    assert "Called as log_softmax(z=a float64 array of shape (2, 3))." in lines
    assert "In log_softmax, at: shifted = z - np.max(z, axis=axis)" in lines
    assert "keepdims=True" in message
    assert all(len(line) <= VALIDATE_KEEPS for line in _shown_lines(failure.value))


@pytest.mark.parametrize(
    ("student", "arguments", "kwargs", "cause"),
    [
        (lambda z, axis=-1: z[:, 5], (np.zeros((2, 3)),), {}, "index past the end"),
        (lambda z, axis=-1: np.sum(z, axis=axis), (np.zeros(3),), {"axis": 1}, "no such axis"),
        (lambda logits: logits, (np.zeros(3),), {"axis": 0}, "keep their names"),
        (lambda z, axis=-1: z.max(), ([1.0, 2.0],), {}, "np.asarray"),
        (lambda z, axis=-1: 1 if z > 0 else 0, (np.zeros(3),), {}, "np.where"),
    ],
    ids=["IndexError", "AxisError", "keyword", "list", "truth value"],
)
def test_typical_crashes_get_a_usual_cause(student, arguments, kwargs, cause):
    for function in (student, FakeProxy(student)):
        with pytest.raises(testing.CheckFailure) as failure:
            testing.call(function, *arguments, case="the visible case", **kwargs)
        message = str(failure.value)
        assert "Usual cause:" in message and cause in _flat(message), message
        for key in kwargs:
            assert f"{key}={kwargs[key]!r}" in message


def test_a_crash_in_a_test_helper_shows_no_test_code():
    # The failing line is the student's, from the cell that defines their function: a
    # wrapper written in a test cell calls it, but its own lines are never quoted.
    source = "def wrapper(z):\n    hidden_check_line = z[7]\n    return hidden_check_line\n"
    namespace: dict = {}
    exec(compile(source, "<test softmax_hidden>", "exec"), namespace)
    with pytest.raises(testing.CheckFailure) as failure:
        testing.call(namespace["wrapper"], np.zeros(3), case="a hidden case")
    assert "hidden_check_line" not in str(failure.value)


def test_check_number_checks_the_form_and_says_the_value_is_graded_later(capsys):
    testing.check_number(12.2, name="ratio_answer", low=0,
                         why="A ratio of probabilities is positive.")
    printed = capsys.readouterr().out
    assert "Only the form is checked here: its value is graded after you submit." in printed
    testing.check_number(np.float32(4), name="dof_answer", whole=True, low=0)
    testing.check_number((5.0, 2.1), name="merged_answer", size=2)
    failures = {
        "no answer yet": dict(value=...),
        "should be a single number, but it is a str": dict(value="12"),
        "should be a single number, but it is a bool": dict(value=True),
        "not an array of shape (3,)": dict(value=[1.0, 2.0, 3.0]),
        "should be finite": dict(value=float("nan")),
        "fractional part": dict(value=4.5, whole=True),
        "cannot be below 0.\nA ratio of probabilities is positive.": dict(
            value=-1.0, low=0, why="A ratio of probabilities is positive."),
        "cannot be above 1.": dict(value=1.5, high=1),
        "should be 2 numbers (a tuple, say), but it has shape (3,)": dict(value=(1, 2, 3), size=2),
    }
    for phrase, arguments in failures.items():
        with pytest.raises(testing.CheckFailure) as failure:
            testing.check_number(name="some_answer", **arguments)
        assert _flat(phrase) in _flat(str(failure.value))


def test_check_option_checks_the_choice_is_offered_and_says_it_is_graded_later(capsys):
    testing.check_option("a", name="sharper_answer", options=("a", "b"))
    printed = capsys.readouterr().out
    assert "Only the form is checked here: its value is graded after you submit." in printed
    assert "'a' or 'b'" in printed  # the options, never which one is right
    for number in (2, 2.0, np.float32(2.0), np.int64(2), 0.5):
        testing.check_option(number, name="sharper_t_answer", options=(0.5, 2))
    failures = {
        "has no answer yet.\nReplace the `...` with 0.5 or 2.": ...,
        "should be 0.5 or 2, but it is '0.5'": "0.5",
        "should be 0.5 or 2, but it is a float64 array of shape (2,)": np.array([0.5, 2.0]),
        "should be 0.5 or 2, but it is True": True,
        "should be 0.5 or 2, but it is 1": 1,
        "should be 0.5 or 2, but it is a list of 1 items": [0.5],
    }
    for phrase, value in failures.items():
        with pytest.raises(testing.CheckFailure) as failure:  # readable, never a raw ValueError
            testing.check_option(value, name="sharper_t_answer", options=(0.5, 2))
        assert _flat(phrase) in _flat(str(failure.value))
    with pytest.raises(testing.CheckFailure, match="should be 'a' or 'b', but it is 'B'"):
        testing.check_option("B", name="sharper_answer", options=("a", "b"))


def test_a_choice_is_compared_as_plain_text_or_a_plain_number():
    class AlwaysEqual(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    with pytest.raises(testing.CheckFailure, match="not the right choice"):
        testing.check_choice(AlwaysEqual("a"), "b", name="sharper_answer", options=("a", "b"))
    with pytest.raises(testing.CheckFailure, match="should be one of"):
        testing.check_choice(np.array([0.5]), 0.5, name="sharper_t_answer", options=(0.5, 2))
    testing.check_choice(np.float64(0.5), 0.5, name="sharper_t_answer", options=(0.5, 2))


def test_expect_raises_names_what_happened_instead():
    def checks_its_temperature(z, T):
        if T <= 0:
            raise ValueError("a temperature must be positive")
        return z / T

    def divides_by_zero(z, T):
        return z / T if T else 1 / T

    def ignores_it(z, T):
        return z

    for proxy in (lambda f: f, FakeProxy):
        testing.expect_raises(proxy(checks_its_temperature), np.ones(2), 0.0, error=ValueError,
                              case="T = 0")
        with pytest.raises(testing.CheckFailure) as failure:
            testing.expect_raises(proxy(divides_by_zero), np.ones(2), 0.0, error=ValueError,
                                  case="T = 0", hint="raise ValueError for T <= 0")
        lines = str(failure.value).split("\n")
        assert _flat(str(failure.value)).startswith(
            "divides_by_zero raised ZeroDivisionError for T = 0, not ValueError. "
            "ZeroDivisionError: ")
        assert "Called as divides_by_zero(" in str(failure.value)
        assert lines[-1] == "Hint: raise ValueError for T <= 0"
        with pytest.raises(testing.CheckFailure) as failure:
            testing.expect_raises(proxy(ignores_it), np.ones(2), 0.0, error=ValueError,
                                  case="T = 0")
        assert str(failure.value) == "ignores_it raised no ValueError for T = 0."
        with pytest.raises(testing.CheckFailure, match="not implemented yet"):
            testing.expect_raises(proxy(unfinished), np.ones(2), error=ValueError, case="T = 0")


def test_a_check_inside_a_tests_wrapper_is_not_reported_as_a_crash():
    def wrapper(z):
        testing.expect(False, "two_to_one should return a pair (w, b).")

    with pytest.raises(testing.CheckFailure) as failure:
        testing.compare(wrapper, reference, np.zeros(3), case="three logits")
    assert str(failure.value) == "two_to_one should return a pair (w, b)."
