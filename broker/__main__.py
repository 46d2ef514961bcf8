import sys

if len(sys.argv) > 1:
    from broker.server.cli import run

    sys.exit(run(sys.argv[1:]))

from broker.server.startup import main

main()
