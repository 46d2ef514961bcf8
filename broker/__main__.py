from broker.startup import main

main()
