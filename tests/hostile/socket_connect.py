import socket


def priority(value: float, position: int) -> float:
    conn = socket.create_connection(("127.0.0.1", __PORT__), timeout=2)
    conn.sendall(b"exfiltrated")
    conn.close()
    return value
