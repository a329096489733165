from funsearch.cli import main

main()
