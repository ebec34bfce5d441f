# -*- test-case-name: tests.test_admin -*-
"""
C{tpbx-admin}: set up and edit a tpbx store from the shell, with or
without the server running (SPEC A2, B1, B4, I3; the call configuration
commands are in L{tpbx.admincalls}).

Edits go through the same validated L{tpbx.interfaces.IConfigStore} as
the console and the API; a running server picks them up within a second
through the store's configuration version.  Exit codes: 0 success, 1 an
error (one line on stderr, never a traceback for a user mistake), 2 bad
usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy.exc import SQLAlchemyError

from tpbx import admincalls
from tpbx.errors import Conflict, NotFound, ValidationError
from tpbx.model import AccessEntry
from tpbx.passwords import generatePassword, generatePin
from tpbx.store import (
    SetupChoices, initialise, isInitialised, openStore,
)
from tpbx.store.firstrun import defaultOperator
from tpbx.store.csvimport import CSV_COLUMNS, importExtensions
from tpbx.store.engine import DB_FILENAME
from tpbx.store.validation import ALLOW_WEAK, COLUMN_OF

__all__ = ["main", "buildParser"]

PROG = "tpbx-admin"
ADMIN_PASSWORD_ENV = "TPBX_ADMIN_PASSWORD"

# API/setting field name -> the option a CLI user typed.
_OPTION_OF = {
    **{field: "--" + column.replace("_", "-")
       for field, column in COLUMN_OF.items()},
    "number": "NUM", "network": "NETWORK", "adminPassword":
    "--admin-password", "extensionDigits": "--digits", "voicemailNumber":
    "--voicemail-number", "operatorExtension": "--operator", "bindAddress":
    "--bind", "publicIp": "--public-ip", "smtpHost": "--smtp-host",
    "smtpFrom": "--smtp-from", **admincalls.OPTION_OF,
}
_SECRETS = ("password", "pin")


class UsageError(Exception):
    """Options that parse but do not make sense together (exit code 2)."""


class UserError(Exception):
    """Anything else the user can fix (exit code 1)."""


def main(argv: list[str] | None = None) -> int:
    """
    Run one command.

    @param argv: the arguments after the program name (default
        C{sys.argv[1:]}).
    @return: the exit code.
    """
    parser = buildParser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 2
    try:
        return args.handler(args)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        return _fail(str(error), 2)
    except ValidationError as error:
        return _fail(f"{_OPTION_OF.get(error.field, error.field)}: "
                     f"{error.message}")
    except (NotFound, Conflict, UserError, OSError) as error:
        return _fail(str(error))
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return _fail("database error: " + str(cause).splitlines()[0])


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _out(*parts) -> None:
    print(*parts, file=sys.stdout)


def buildParser() -> argparse.ArgumentParser:
    """
    @return: the argument parser of every command.  C{--data} and C{--db}
        are accepted before the command and after it; the subcommands'
        copies default to SUPPRESS so they never hide the global ones.
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Set up and edit a tpbx configuration.")
    _addStoreOptions(parser, "./data", None)
    common = argparse.ArgumentParser(add_help=False)
    _addStoreOptions(common, argparse.SUPPRESS, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="COMMAND")
    _addInit(commands, common)
    _addExtension(commands, common)
    for kind in ("blacklist", "whitelist"):
        _addAccess(commands, common, kind)
    admincalls.addCommands(commands, common, _withStore)
    return parser


def _withStore(handler):
    """
    @param handler: C{handler(store, args) -> exit code}.
    @return: C{handler(args)}, run on the opened store of C{args}.
    """
    def run(args) -> int:
        with _opened(args) as store:
            return handler(store, args)
    return run


def _addStoreOptions(parser, dataDefault, dbDefault) -> None:
    parser.add_argument("--data", default=dataDefault, metavar="DIR",
                        help="data directory (default ./data)")
    parser.add_argument("--db", default=dbDefault, metavar="URL",
                        help="database URL, e.g. postgresql://user:pw@host"
                        "/tpbx (default: SQLite in the data directory)")


def _addInit(commands, common) -> None:
    init = commands.add_parser(
        "init", parents=[common], help="first-run setup",
        description="Store the first-run settings and the admin password. "
        "Without --non-interactive, asks for what the options leave out.")
    init.add_argument("--non-interactive", action="store_true",
                      help="never prompt; use the options and defaults")
    secret = init.add_mutually_exclusive_group()
    secret.add_argument("--admin-password", metavar="P", help="admin "
                        f"password (or set {ADMIN_PASSWORD_ENV})")
    secret.add_argument("--generate-admin-password", action="store_true",
                        help="generate a strong admin password and print "
                        "it once")
    init.add_argument("--digits", type=int, help="extension number length "
                      "(default 3)")
    init.add_argument("--voicemail-number", help="voicemail access number "
                      "(default 999)")
    init.add_argument("--operator", help="operator extension, the default "
                      "destination of inbound calls (default 100)")
    init.add_argument("--bind", metavar="ADDR", help="address to listen on")
    init.add_argument("--public-ip", metavar="IP", help="public IP for NAT")
    init.add_argument("--smtp-host", metavar="H", help="mail relay host"
                      "[:port]")
    init.add_argument("--smtp-from", metavar="ADDR", help="sender address "
                      "of notifications")
    init.add_argument("--force", action="store_true",
                      help="set up again over an initialised store")
    init.add_argument("--allow-weak", action="store_true",
                      help="accept a weak admin password")
    init.set_defaults(handler=_init)


def _addExtension(commands, common) -> None:
    group = commands.add_parser("extension", help="manage extensions")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", parents=[common], help="create one",
                           description="Create an extension. A missing "
                           "password or PIN is generated and printed.")
    add.add_argument("number", metavar="NUM")
    _addExtensionOptions(add)
    add.set_defaults(handler=_extensionAdd)
    change = verbs.add_parser("set", parents=[common], help="change fields",
                              description="Change the given fields only.")
    change.add_argument("number", metavar="NUM")
    _addExtensionOptions(change)
    change.add_argument("--generate-password", action="store_true",
                        help="replace the password by a generated one")
    change.set_defaults(handler=_extensionSet)
    for verb, handler, helpText in [("list", _extensionList, "list all"),
                                    ("show", _extensionShow, "show one")]:
        command = verbs.add_parser(verb, parents=[common], help=helpText)
        if verb == "show":
            command.add_argument("number", metavar="NUM")
        command.add_argument("--json", action="store_true")
        command.add_argument("--show-secrets", action="store_true",
                             help="include passwords and PINs")
        command.set_defaults(handler=handler)
    remove = verbs.add_parser("remove", parents=[common], help="delete one")
    remove.add_argument("number", metavar="NUM")
    remove.set_defaults(handler=_extensionRemove)
    _addImport(verbs, common)
    admincalls.addExtensionStatus(verbs, common, _withStore)


def _addExtensionOptions(parser) -> None:
    parser.add_argument("--first-name")
    parser.add_argument("--last-name")
    parser.add_argument("--email")
    parser.add_argument("--password", help="SIP password (default: "
                        "generated)")
    parser.add_argument("--pin", help="voicemail/portal PIN, 4-12 digits")
    parser.add_argument("--auth-id", help="SIP auth ID (default: the "
                        "number)")
    parser.add_argument("--lan-only", action=argparse.BooleanOptionalAction,
                        default=None, help="refuse registrations from "
                        "outside the LAN")
    parser.add_argument("--status", help="presence status: available, "
                        "away, out-of-office, dnd or a custom name")
    for name, helpText in [("call-waiting", "let a second call ring while "
                            "on a call (default on)"),
                           ("record-calls", "record every call"),
                           ("direct-media", "let RTP flow phone to phone")]:
        parser.add_argument("--" + name, default=None, help=helpText,
                            action=argparse.BooleanOptionalAction)
    parser.add_argument("--allow-weak", action="store_true",
                        help="accept a weak SIP password")


def _addImport(verbs, common) -> None:
    importer = verbs.add_parser(
        "import", parents=[common], help="import from CSV",
        description="Import extensions from a CSV file with a header row. "
        "Columns: " + ",".join(CSV_COLUMNS) + " (number required, unknown "
        "columns refused). Bad rows are reported as 'line N: field: "
        "message' on stderr and skipped; the good rows are still "
        "imported. Generated passwords are printed as 'NUM password'. "
        "Exit code 0 when every row was imported, 1 when some were "
        "rejected.")
    importer.add_argument("file", metavar="FILE.csv")
    importer.add_argument("--allow-weak", action="store_true",
                          help="accept weak SIP passwords")
    importer.set_defaults(handler=_extensionImport)


def _addAccess(commands, common, kind: str) -> None:
    group = commands.add_parser(kind, help=f"manage the {kind}")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", parents=[common],
                               help="show the live entries")
    listing.add_argument("--json", action="store_true")
    add = verbs.add_parser("add", parents=[common],
                           help="add or replace an address or network")
    add.add_argument("network", metavar="NETWORK",
                     help="an IP address or CIDR network")
    add.add_argument("--until-seconds", type=int, metavar="N",
                     help="expire after N seconds (default: permanent)")
    add.add_argument("--reason", default="", metavar="R")
    remove = verbs.add_parser("remove", parents=[common],
                              help="remove an address or network")
    remove.add_argument("network", metavar="NETWORK")
    for parser, handler in [(listing, _accessList), (add, _accessAdd),
                            (remove, _accessRemove)]:
        parser.set_defaults(handler=handler, kind=kind)


@contextmanager
def _opened(args, initialised: bool = True) -> Iterator:
    """
    Open the store of C{--data}/C{--db} for one command, then close it.

    @param initialised: require a store set up by C{init} (and do not
        create a database where there was none).
    """
    path = os.path.join(args.data, DB_FILENAME)
    if initialised and args.db is None and not os.path.exists(path):
        raise UserError(f"no tpbx store in {args.data} (run '{PROG} init' "
                        "first, or give --data)")
    store = openStore(args.data, args.db)
    try:
        if initialised and not isInitialised(store):
            raise UserError(f"the store is not set up (run '{PROG} init' "
                            "first)")
        yield store
    finally:
        store.close()


# init option (argparse dest) -> SetupChoices attribute, prompt.
_QUESTIONS = [
    ("digits", "digits", "Extension digits"),
    ("voicemail_number", "voicemailNumber", "Voicemail access number"),
    ("operator", "operator", "Operator extension"),
    ("bind", "bindAddress", "Bind address (empty: all)"),
    ("public_ip", "publicIp", "Public IP (empty: none)"),
    ("smtp_host", "smtpHost", "SMTP server host[:port]"),
    ("smtp_from", "smtpFrom", "Notification sender address"),
]


def _init(args) -> int:
    interactive = not args.non_interactive
    generated = generatePassword() if args.generate_admin_password else None
    password = generated or args.admin_password or os.environ.get(
        ADMIN_PASSWORD_ENV)
    if password is None and not interactive:
        raise UsageError("--admin-password, --generate-admin-password or "
                         f"{ADMIN_PASSWORD_ENV} is required with "
                         "--non-interactive")
    choices = _setupChoices(args, interactive)
    if password is None:
        password = _askPassword()
    with _opened(args, initialised=False) as store:
        initialise(store, password, choices, force=args.force,
                   allowWeak=args.allow_weak)
    _out(f"tpbx store set up in {args.db or args.data}")
    if generated is not None:
        _out(f"admin password: {generated}")
    return 0


def _setupChoices(args, interactive: bool) -> SetupChoices:
    """
    The options given, then answers to prompts for the others (when
    interactive), then the defaults.
    """
    choices = SetupChoices()
    for option, attribute, label in _QUESTIONS:
        value = getattr(args, option)
        if value is None and interactive:
            value = _ask(label, _defaultAnswer(choices, attribute))
        if value is not None:
            setattr(choices, attribute, value)
        if attribute == "digits":
            choices.digits = _integer("extensionDigits", choices.digits)
    return choices


def _defaultAnswer(choices: SetupChoices, attribute: str):
    if attribute == "operator" and choices.operator is None:
        return defaultOperator(choices.digits)
    return getattr(choices, attribute)


def _ask(label: str, default) -> str | None:
    suffix = f" [{default}]" if default is not None else ""
    answer = input(f"{label}{suffix}: ").strip()
    return answer or (None if default is None else str(default))


def _askPassword() -> str:
    while True:
        first = getpass.getpass("Admin password: ")
        if first and first == getpass.getpass("Admin password again: "):
            return first
        print("The passwords are empty or differ; try again.",
              file=sys.stderr)


def _integer(field: str, value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(field, "must be a number")


def _extensionFields(args) -> dict:
    fields = {field: getattr(args, column) for field, column in
              COLUMN_OF.items() if field != "number"
              and getattr(args, column) is not None}
    if args.allow_weak:
        fields[ALLOW_WEAK] = True
    return fields


def _extensionAdd(args) -> int:
    fields = _extensionFields(args)
    fields["number"] = args.number
    pin = None
    if "pin" not in fields:
        pin = fields["pin"] = generatePin()
    with _opened(args) as store:
        extension, password = store.createExtension(fields)
    _out(f"extension {extension.number} created")
    if password is not None:
        _out(f"password: {password}")
    if pin is not None:
        _out(f"pin: {pin}")
    return 0


def _extensionSet(args) -> int:
    fields = _extensionFields(args)
    generated = None
    if args.generate_password:
        if "password" in fields:
            raise UsageError("give --password or --generate-password, "
                             "not both")
        generated = fields["password"] = generatePassword()
    if not set(fields) - {ALLOW_WEAK}:
        raise UsageError("nothing to change: give at least one field option")
    with _opened(args) as store:
        store.updateExtension(args.number, fields)
    _out(f"extension {args.number} updated")
    if generated is not None:
        _out(f"password: {generated}")
    return 0


def _extensionRemove(args) -> int:
    with _opened(args) as store:
        store.deleteExtension(args.number)
    _out(f"extension {args.number} removed")
    return 0


def _extensionList(args) -> int:
    with _opened(args) as store:
        extensions = store.listExtensions()
    _printExtensions(extensions, args)
    return 0


def _extensionShow(args) -> int:
    with _opened(args) as store:
        extension = store.getExtension(args.number)
    if extension is None:
        raise NotFound(f"extension {args.number} does not exist")
    if args.json:
        _out(json.dumps(_extensionDict(extension, args.show_secrets),
                        indent=2))
    else:
        for name, value in _extensionDict(extension,
                                          args.show_secrets).items():
            _out(f"{COLUMN_OF[name]:<11} {value}")
    return 0


def _extensionDict(extension, showSecrets: bool) -> dict:
    return {field: getattr(extension, field) for field in COLUMN_OF
            if showSecrets or field not in _SECRETS}


def _printExtensions(extensions, args) -> None:
    if args.json:
        _out(json.dumps([_extensionDict(ext, args.show_secrets)
                         for ext in extensions], indent=2))
        return
    for ext in extensions:
        columns = [ext.number, ext.displayName, ext.email, ext.authId,
                   "lan-only" if ext.lanOnly else "", ext.status]
        if args.show_secrets:
            columns += [ext.password, ext.pin]
        _out("\t".join(columns).rstrip())


def _extensionImport(args) -> int:
    try:
        with open(args.file, newline="", encoding="utf-8-sig") as stream, \
                _opened(args) as store:
            report = importExtensions(store, stream, args.allow_weak)
    except UnicodeDecodeError:
        raise UserError(f"{args.file}: not UTF-8 text")
    except ValidationError as error:
        raise UserError(f"{args.file}: line {error.line}: {error.field}: "
                        f"{error.message}; nothing imported")
    for extension, password in report.created:
        if password is not None:
            _out(f"{extension.number} {password}")
    for error in report.errors:
        print(f"line {error.line}: {error.field}: {error.message}",
              file=sys.stderr)
    print(f"{len(report.created)} extensions imported, "
          f"{len(report.errors)} rows rejected", file=sys.stderr)
    return 1 if report.errors else 0


def _accessList(args) -> int:
    with _opened(args) as store:
        entries = store.listAccess(args.kind)
    if args.json:
        _out(json.dumps([{"network": e.network, "until": e.until,
                          "reason": e.reason} for e in entries], indent=2))
        return 0
    for entry in entries:
        until = "permanent" if entry.until is None else "until " + \
            datetime.fromtimestamp(entry.until, timezone.utc).isoformat(
                timespec="seconds")
        _out(f"{entry.network}\t{until}\t{entry.reason}".rstrip())
    return 0


def _accessAdd(args) -> int:
    with _opened(args) as store:
        until = None
        if args.until_seconds is not None:
            if args.until_seconds <= 0:
                raise UsageError("--until-seconds must be positive")
            until = store.now() + args.until_seconds
        entry = store.addAccess(args.kind, AccessEntry(
            args.network, until, args.reason))
    _out(f"{entry.network} added to the {args.kind}")
    return 0


def _accessRemove(args) -> int:
    with _opened(args) as store:
        store.removeAccess(args.kind, args.network)
    _out(f"{args.network} removed from the {args.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
