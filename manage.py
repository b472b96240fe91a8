#!/usr/bin/env python
"""Django's command-line utility for Attest."""

import os
import sys

# Commands that serve web requests keep the web's statement timeout.
WEB_COMMANDS = {"runserver", "runserver_plus", "testserver", "test"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    if sys.argv[1:2] and sys.argv[1] not in WEB_COMMANDS:
        # Commands may legitimately run long (migrations, verify_audit, reports): they get
        # DB_LONG_STATEMENT_TIMEOUT_MS instead of the web's DB_STATEMENT_TIMEOUT_MS.
        from config.db_limits import use_long_statement_timeout

        use_long_statement_timeout()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
