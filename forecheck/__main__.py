"""``python -m forecheck``."""

from forecheck.cli.app import main

if __name__ == "__main__":
    main()
