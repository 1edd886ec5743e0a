"""`python -m autocomp.cli`: the `autocomp` command without the installed console script."""

from autocomp.cli import main

if __name__ == "__main__":
    main()
