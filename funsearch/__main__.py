from funsearch.cli.app import main

main()
