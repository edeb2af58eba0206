"""``python -m softmax_grading``: the instructor's grading flow."""

import sys

from softmax_grading.cli import main

sys.exit(main())
