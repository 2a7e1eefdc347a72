"""``python -m dfmigrate`` runs the command line."""

from dfmigrate.cli import main

if __name__ == "__main__":
    main()
