from vesalius.cli import main

main()
