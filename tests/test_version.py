"""``softmax_course.__version__`` works installed and from a checkout that is not installed."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import softmax_course

CHECKOUT = Path(__file__).resolve().parents[1]


def test_the_installed_version_is_the_distributions():
    assert softmax_course.__version__ == importlib.metadata.version("softmax-course")


def test_a_checkout_that_is_not_installed_still_imports():
    # The distribution's metadata is made unfindable, as in a checkout put on sys.path by hand.
    script = (
        "import importlib.metadata as metadata\n"
        "def missing(name):\n"
        "    raise metadata.PackageNotFoundError(name)\n"
        "metadata.version = missing\n"
        "import softmax_course\n"
        "print(softmax_course.__version__)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=CHECKOUT, capture_output=True,
                               text=True, check=True)
    assert completed.stdout.strip() == "0+unknown"
