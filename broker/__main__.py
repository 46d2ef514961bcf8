import sys

if len(sys.argv) > 1:
    from broker.cli import run

    sys.exit(run(sys.argv[1:]))

from broker.startup import main

main()
