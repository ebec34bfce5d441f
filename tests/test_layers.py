# -*- test-case-name: tests.test_layers -*-
"""
The layering of DESIGN.md ("Imports go down the layers only"), enforced
with import-linter: the contracts in C{.importlinter} at the repository root
hold for the code as it is, they are complete, and they have teeth (a
planted forbidden import, direct or indirect, breaks them).
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.api import read_configuration

import tpbx

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"

SIP = "tpbx.sip is sans-IO"
TRANSPORT = "tpbx.transport reaches the PBX only through tpbx.interfaces"
PBX = "tpbx.pbx sees neither sockets"
WEB = "tpbx.web uses the PBX and the store only through"
STORE = "tpbx.store knows nothing of SIP"


def lintImports(root: Path) -> subprocess.CompletedProcess:
    """
    Run C{lint-imports} on the C{tpbx} package found in C{root}, with the
    repository's contracts and no cache (nothing written to the tree).

    @return: the finished process (exit status 0 when every contract holds).
    """
    command = [sys.executable, "-c",
               "from importlinter.cli import lint_imports_command; lint_imports_command()",
               "--no-cache", str(CONFIG)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)


def contracts() -> dict[str, dict]:
    """@return: the contracts of C{.importlinter}, by id."""
    return {c["id"]: c for c in read_configuration(str(CONFIG))["contracts_options"]}


def test_contractsKept():
    """Every layering contract holds for the code as it is."""
    result = lintImports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contractsHaveNoIgnores():
    """No import is exempted: a violation is fixed, not silenced."""
    for contract in contracts().values():
        assert not contract.get("ignore_imports"), contract["name"]
        assert contract.get("allow_indirect_imports") in (None, "False", "false")


def test_sipContractCoversEveryOtherModule():
    """
    The sans-IO contract forbids every top-level module of tpbx except
    tpbx.errors, so a module added later is forbidden to tpbx.sip too.
    """
    forbidden = set(contracts()["sip-sans-io"]["forbidden_modules"])
    modules = {f"tpbx.{m.name}" for m in pkgutil.iter_modules(tpbx.__path__)}
    assert modules - {"tpbx.sip", "tpbx.errors"} <= forbidden
    assert {"twisted", "zope"} <= forbidden


@pytest.mark.parametrize("path, line, contract", [
    ("sip/peer.py", "import twisted.internet.defer", SIP),
    ("sip/peer.py", "from tpbx.model import Extension", SIP),
    ("errors.py", "from twisted.python.failure import Failure", SIP),   # indirect
    ("transport/udp.py", "from tpbx.pbx.engine import SIPEngine", TRANSPORT),
    ("pbx/status.py", "from tpbx.store import openStore", PBX),
    ("pbx/status.py", "from tpbx.transport.udp import SIPDatagramProtocol", PBX),
    ("web/site.py", "from tpbx.pbx.location import Binding", WEB),
    ("web/site.py", "from tpbx.sip.message import Request", WEB),
    ("store/schema.py", "from tpbx.sip.uri import parseURI", STORE),
    ("store/schema.py", "from tpbx.service import PBXService", STORE),
])
def test_plantedViolationBreaksContract(tmp_path, path, line, contract):
    """
    A copy of tpbx with one forbidden import planted fails the lint, and
    the report names the broken contract.
    """
    shutil.copytree(ROOT / "tpbx", tmp_path / "tpbx",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "tpbx" / path, "a") as f:
        f.write(f"\n{line}  # planted by tests/test_layers.py\n")
    result = lintImports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract}" in result.stdout
    assert "1 broken" in result.stdout
