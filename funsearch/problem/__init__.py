"""Problem files: the markers they use, loading and checking them, and judging candidates through the sandbox."""
