"""The stand-alone verifier (tools/verify_chain.py), loaded as a module and run as a subprocess."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

from directory.config import PROJECT_ROOT

VERIFIER = PROJECT_ROOT / "tools" / "verify_chain.py"


def load_verifier() -> ModuleType:
    """Import tools/verify_chain.py (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("verify_chain", VERIFIER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def run_verifier(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the verifier as a third party would: its own process, the plain interpreter, no site packages."""
    return subprocess.run([sys.executable, "-I", "-S", str(VERIFIER), *args], capture_output=True, text=True,
                          timeout=120, check=False)
