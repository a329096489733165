import subprocess


def priority(value: float, position: int) -> float:
    subprocess.run(["touch", "__OUTSIDE_DIR__/subprocess_ran"], check=True)
    return value
