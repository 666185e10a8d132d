from ferry.cli.app import main

main()
