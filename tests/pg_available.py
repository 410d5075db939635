"""Exit 0 when a PostgreSQL server answers at the URL given (used by `make test-postgres`)."""

from __future__ import annotations

import sys

import psycopg


def main(url: str) -> int:
    """Try one connection to the server's maintenance database."""
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            return 0
    except psycopg.Error as exc:
        print(f"PostgreSQL not reachable: {exc}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
