# -*- test-case-name: tests.test_admin -*-
"""
Tests for the C{tpbx-admin} command line (L{tpbx.admin}): exit codes,
one-line errors, and that each command reaches the store.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.store.postgres import needsPostgres, postgresSchema
from tpbx.admin import main
from tpbx.passwords import weakPasswordReason
from tpbx.store import openStore, verifyAdminPassword

ADMIN = "Corr3ct-Horse-Battery"
STRONG = "Tr1cky-Sip-Secret"


@pytest.fixture
def data(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def run(capsys, data):
    """
    Run C{tpbx-admin} in-process on the test's data directory.

    @return: a function of the arguments giving C{(code, stdout, stderr)}.
    """
    def run(*argv, withData=True):
        code = main(list(argv) + (["--data", data] if withData else []))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err
    return run


@pytest.fixture
def ready(run):
    """A data directory set up by C{init} (3-digit extensions)."""
    assert run("init", "--non-interactive", "--admin-password", ADMIN)[0] \
        == 0
    return run


def storeOf(data):
    return openStore(data)


def test_initNonInteractive(run, data):
    """init stores the settings and the hashed admin password."""
    code, out, err = run("init", "--non-interactive", "--admin-password",
                         ADMIN, "--digits", "4", "--operator", "1000",
                         "--smtp-host", "mail:25", "--public-ip",
                         "203.0.113.9")
    assert (code, err) == (0, "")
    assert "set up" in out
    store = storeOf(data)
    assert store.getSetting("extensionDigits") == 4
    assert store.getSetting("publicIp") == "203.0.113.9"
    assert verifyAdminPassword(store, ADMIN)
    store.close()


def test_initTwice(ready):
    """A second init is refused (exit 1) unless --force."""
    code, out, err = ready("init", "--non-interactive", "--admin-password",
                           ADMIN)
    assert code == 1 and "--force" in err and len(err.splitlines()) == 1
    assert ready("init", "--non-interactive", "--admin-password", ADMIN,
                 "--force")[0] == 0


def test_initNeedsPassword(run, monkeypatch):
    """--non-interactive without any password is a usage error (exit 2)."""
    monkeypatch.delenv("TPBX_ADMIN_PASSWORD", raising=False)
    code, out, err = run("init", "--non-interactive")
    assert code == 2 and "--admin-password" in err


def test_initPasswordFromEnvironment(run, data, monkeypatch):
    """The admin password may come from TPBX_ADMIN_PASSWORD (not argv)."""
    monkeypatch.setenv("TPBX_ADMIN_PASSWORD", ADMIN)
    assert run("init", "--non-interactive")[0] == 0
    store = storeOf(data)
    assert verifyAdminPassword(store, ADMIN)
    store.close()


def test_initWeakPassword(run):
    """A weak admin password is one line on stderr and exit 1."""
    code, out, err = run("init", "--non-interactive", "--admin-password",
                         "admin")
    assert code == 1
    assert err.startswith("tpbx-admin: error: --admin-password: weak")


def test_initInteractive(run, data, monkeypatch):
    """
    Without --non-interactive, init asks for what the options leave out,
    with defaults on empty answers, and for the password twice.
    """
    answers = iter(["4", "", "", "", "", "mail.example.com", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    passwords = iter(["one", "two", ADMIN, ADMIN])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(passwords))
    code, out, err = run("init")
    assert code == 0 and "differ" in err
    store = storeOf(data)
    assert (store.getSetting("extensionDigits"),
            store.getSetting("voicemailNumber"),
            store.getSetting("operatorExtension"),
            store.getSetting("smtpHost")) == (4, "999", "1000",
                                              "mail.example.com")
    assert verifyAdminPassword(store, ADMIN)
    store.close()


def test_commandsNeedInit(run, data):
    """Before init, commands fail with a hint and create nothing."""
    code, out, err = run("extension", "list")
    assert code == 1 and "init" in err
    assert not os.path.exists(data)


def test_addGeneratesSecrets(ready, data):
    """
    extension add without --password/--pin generates both and prints
    them; they are what the store holds.
    """
    code, out, err = ready("extension", "add", "100", "--first-name", "Ann",
                           "--last-name", "Lee", "--email",
                           "ann@example.com")
    assert (code, err) == (0, "")
    lines = dict(line.split(": ") for line in out.splitlines()[1:])
    store = storeOf(data)
    ann = store.getExtension("100")
    assert (ann.password, ann.pin) == (lines["password"], lines["pin"])
    assert weakPasswordReason(ann.password, "100") is None
    store.close()


def test_addGiven(ready, data):
    """Given options are stored as typed; nothing is printed as secret."""
    code, out, err = ready("extension", "add", "101", "--first-name", "Bob",
                           "--password", STRONG, "--pin", "4711",
                           "--auth-id", "bob", "--lan-only")
    assert code == 0 and STRONG not in out and "4711" not in out
    store = storeOf(data)
    bob = store.getExtension("101")
    assert (bob.password, bob.pin, bob.authId, bob.lanOnly) == (
        STRONG, "4711", "bob", True)
    store.close()


@pytest.mark.parametrize("argv, where", [
    (["12", "--first-name", "A"], "NUM"),
    (["100"], "--first-name"),
    (["100", "--first-name", "A", "--email", "nope"], "--email"),
    (["100", "--first-name", "A", "--password", "12345678"], "--password"),
    (["100", "--first-name", "A", "--pin", "12"], "--pin"),
    (["999", "--first-name", "A"], "voicemail"),
])
def test_addRefused(ready, argv, where):
    """A refused field is one line on stderr naming it, exit 1."""
    code, out, err = ready("extension", "add", *argv)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and where in err


def test_addWeakAllowed(ready):
    """--allow-weak accepts a weak SIP password."""
    assert ready("extension", "add", "100", "--first-name", "A",
                 "--password", "12345678", "--allow-weak")[0] == 0


def test_addDuplicate(ready):
    """Adding an existing number fails with exit 1."""
    ready("extension", "add", "100", "--first-name", "A")
    code, out, err = ready("extension", "add", "100", "--first-name", "B")
    assert code == 1 and "exists" in err


def test_listAndShow(ready):
    """
    list and show print extensions as text or JSON, without passwords
    and PINs unless --show-secrets.
    """
    ready("extension", "add", "101", "--first-name", "Bob", "--password",
          STRONG, "--pin", "4711")
    ready("extension", "add", "100", "--first-name", "Ann", "--lan-only")
    code, out, err = ready("extension", "list")
    assert code == 0
    assert [line.split("\t")[:2] for line in out.splitlines()] == [
        ["100", "Ann"], ["101", "Bob"]]
    assert STRONG not in out
    listed = json.loads(ready("extension", "list", "--json")[1])
    assert [e["number"] for e in listed] == ["100", "101"]
    assert "password" not in listed[0] and listed[0]["lanOnly"] is True
    shown = json.loads(ready("extension", "show", "101", "--json",
                             "--show-secrets")[1])
    assert (shown["password"], shown["pin"]) == (STRONG, "4711")
    code, out, err = ready("extension", "show", "101")
    assert "first_name  Bob" in out and STRONG not in out
    assert ready("extension", "show", "102")[0] == 1


def test_set(ready, data):
    """extension set changes the given fields only."""
    ready("extension", "add", "100", "--first-name", "Ann", "--password",
          STRONG, "--lan-only")
    code, out, err = ready("extension", "set", "100", "--last-name", "Lee",
                           "--no-lan-only")
    assert (code, err) == (0, "")
    store = storeOf(data)
    ann = store.getExtension("100")
    assert (ann.firstName, ann.lastName, ann.lanOnly, ann.password) == (
        "Ann", "Lee", False, STRONG)
    store.close()


def test_setGeneratePassword(ready, data):
    """--generate-password replaces the password and prints the new one."""
    ready("extension", "add", "100", "--first-name", "Ann")
    code, out, err = ready("extension", "set", "100", "--generate-password")
    store = storeOf(data)
    assert out.splitlines()[-1] == \
        "password: " + store.getExtension("100").password
    store.close()


@pytest.mark.parametrize("argv, code", [
    (["100"], 2),
    (["100", "--password", STRONG, "--generate-password"], 2),
    (["555", "--last-name", "X"], 1),
    (["100", "--auth-id", "a b"], 1),
])
def test_setRefused(ready, argv, code):
    """Nothing to change is usage (2); a missing or bad edit is 1."""
    ready("extension", "add", "100", "--first-name", "Ann")
    assert ready("extension", "set", *argv)[0] == code


def test_remove(ready):
    """remove deletes; removing again is exit 1."""
    ready("extension", "add", "100", "--first-name", "Ann")
    assert ready("extension", "remove", "100")[0] == 0
    code, out, err = ready("extension", "remove", "100")
    assert code == 1 and "does not exist" in err


def test_importMixed(ready, data, tmp_path):
    """
    import stores the good rows, reports each bad one as "line N: field:
    message" on stderr, prints generated passwords as "NUM password", and
    exits 1 because some rows were rejected.
    """
    path = tmp_path / "ext.csv"
    path.write_text("\ufeffnumber,first_name,email,password\n"
                    f"100,Ann,ann@example.com,{STRONG}\n"
                    "101,Bob,,\n"
                    "10,Short,,\n"
                    "102,Cy,cy@,\n", encoding="utf-8")
    code, out, err = ready("extension", "import", str(path))
    assert code == 1
    store = storeOf(data)
    assert out == f"101 {store.getExtension('101').password}\n"
    assert err.splitlines() == [
        "line 4: number: must have exactly 3 digits",
        "line 5: email: is not a valid e-mail address",
        "2 extensions imported, 2 rows rejected"]
    assert [e.number for e in store.listExtensions()] == ["100", "101"]
    store.close()


def test_importAllGood(ready, tmp_path):
    """Exit code 0 when every row was imported."""
    path = tmp_path / "ext.csv"
    path.write_text(f"number,first_name,password\n100,Ann,{STRONG}\n")
    code, out, err = ready("extension", "import", str(path))
    assert (code, out) == (0, "")
    assert "1 extensions imported, 0 rows rejected" in err


@pytest.mark.parametrize("content, message", [
    ("number,colour\n100,red\n", "line 1: colour: unknown column"),
    (b"number\n\xff\xfe\n", "not UTF-8"),
    (None, "No such file"),
])
def test_importRefused(ready, tmp_path, content, message):
    """A bad header, bad encoding or missing file imports nothing."""
    path = tmp_path / "ext.csv"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    code, out, err = ready("extension", "import", str(path))
    assert code == 1 and message in err and len(err.splitlines()) == 1


def test_accessLists(ready):
    """blacklist/whitelist add, list (text and JSON) and remove."""
    assert ready("blacklist", "add", "10.9.8.7/8", "--reason", "scan",
                 "--until-seconds", "3600")[0] == 0
    assert ready("whitelist", "add", "192.0.2.1")[0] == 0
    code, out, err = ready("blacklist", "list")
    assert out.startswith("10.0.0.0/8\tuntil ") and out.endswith("\tscan\n")
    [entry] = json.loads(ready("whitelist", "list", "--json")[1])
    assert entry == {"network": "192.0.2.1", "until": None, "reason": ""}
    assert ready("whitelist", "remove", "192.0.2.1")[0] == 0
    assert ready("whitelist", "list")[1] == ""
    code, out, err = ready("whitelist", "remove", "192.0.2.1")
    assert code == 1 and "not on the whitelist" in err


@pytest.mark.parametrize("argv, code", [
    (["blacklist", "add", "300.1.1.1"], 1),
    (["blacklist", "add", "192.0.2.1", "--until-seconds", "0"], 2),
    (["blacklist", "add", "192.0.2.1", "--until-seconds", "x"], 2),
])
def test_accessRefused(ready, argv, code):
    """A bad network is exit 1; a bad option value is usage (2)."""
    assert ready(*argv)[0] == code


@pytest.mark.parametrize("argv, code", [
    (["frobnicate"], 2), ([], 2), (["extension"], 2), (["--help"], 0),
    (["extension", "import", "--help"], 0),
])
def test_usage(run, argv, code):
    """Usage errors exit 2; --help exits 0."""
    assert run(*argv, withData=False)[0] == code


def test_importHelpDocumentsPartialImport(run):
    """The import help says that good rows import despite bad ones."""
    code, out, err = run("extension", "import", "--help", withData=False)
    assert "good rows are still" in " ".join(out.split())


def test_databaseErrorIsOneLine(run):
    """An unreachable database is one line on stderr, exit 1."""
    code, out, err = run("init", "--non-interactive", "--admin-password",
                         ADMIN, "--db",
                         "postgresql://nobody@127.0.0.1:1/none")
    assert code == 1
    assert err.startswith("tpbx-admin: error: database error: ")
    assert len(err.splitlines()) == 1


@needsPostgres
def test_postgres(run, tmp_path):
    """The same commands work on PostgreSQL given by --db."""
    with postgresSchema(tmp_path) as url:
        assert run("init", "--non-interactive", "--admin-password", ADMIN,
                   "--db", url)[0] == 0
        assert run("extension", "add", "100", "--first-name", "Ann", "--db",
                   url)[0] == 0
        code, out, err = run("extension", "list", "--db", url)
        assert out.startswith("100\tAnn")


def test_consoleScript(tmp_path):
    """
    The installed C{tpbx-admin} console script runs (skipped when tpbx is
    not installed with its entry points).
    """
    binDir = os.path.dirname(sys.executable)
    script = shutil.which("tpbx-admin",
                          path=binDir + os.pathsep + os.environ["PATH"])
    if script is None:
        pytest.skip("tpbx-admin console script not installed")
    data = str(tmp_path / "data")
    subprocess.run([script, "init", "--non-interactive", "--admin-password",
                    ADMIN, "--data", data], check=True, capture_output=True)
    result = subprocess.run([script, "extension", "list", "--data", data],
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "")
    result = subprocess.run([script, "extension", "show", "100", "--data",
                             data], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("tpbx-admin: error:")


def test_storeOptionsBeforeCommand(run, data):
    """
    --data and --db are accepted before the command too
    (C{tpbx-admin --data DIR init ...}).
    """
    code, out, err = run("--data", data, "init", "--non-interactive",
                         "--admin-password", ADMIN, withData=False)
    assert code == 0 and os.path.exists(os.path.join(data, "tpbx.db"))
    assert run("--data", data, "extension", "list", withData=False)[0] == 0


def test_generateAdminPassword(run, data):
    """--generate-admin-password prints a strong password that works."""
    code, out, err = run("init", "--non-interactive",
                         "--generate-admin-password")
    assert code == 0
    password = out.splitlines()[-1].removeprefix("admin password: ")
    assert weakPasswordReason(password) is None
    store = storeOf(data)
    assert verifyAdminPassword(store, password)
    store.close()
    assert run("init", "--force", "--generate-admin-password",
               "--admin-password", ADMIN)[0] == 2


def test_operatorDefaultFollowsDigits(run, data):
    """With --digits 4 and no --operator, the operator is 1000."""
    assert run("init", "--non-interactive", "--admin-password", ADMIN,
               "--digits", "4")[0] == 0
    store = storeOf(data)
    assert store.getSetting("operatorExtension") == "1000"
    store.close()


def test_runAsModule(tmp_path):
    """C{python -m tpbx.admin} runs the same command line."""
    result = subprocess.run([sys.executable, "-m", "tpbx.admin", "extension",
                             "list", "--data", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("tpbx-admin: error: no tpbx store")
