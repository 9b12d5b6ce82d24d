"""Great Expectations (a 3-5 s import) is loaded only when a non-empty frame is validated."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> None:
    """Run code in a fresh interpreter: this test process has already imported GX."""
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(
            path for path in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if path
        )
    }
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr


def test_importing_the_package_does_not_import_great_expectations() -> None:
    run_python(
        """
        import sys
        import expectations
        import expectations.runner
        import expectations.spec
        import expectations.suites
        assert "great_expectations" not in sys.modules, "imported at import time"
        """
    )


def test_validating_an_empty_frame_does_not_import_great_expectations() -> None:
    run_python(
        """
        import sys
        import pandas as pd
        from expectations.runner import validate_frame
        from expectations.suites import ORDER_LINES
        report = validate_frame(pd.DataFrame(columns=list(ORDER_LINES.columns)), ORDER_LINES)
        assert report.evaluated == 0 and report.ok, report
        assert "great_expectations" not in sys.modules
        """
    )
