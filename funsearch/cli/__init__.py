"""The `funsearch` command line: parse, call the library, print. Only cli/ imports from cli/."""
