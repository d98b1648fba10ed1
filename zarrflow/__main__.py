"""``python -m zarrflow``: the same as the ``zarrflow`` command."""

from zarrflow.cli import main

if __name__ == "__main__":
    main()
