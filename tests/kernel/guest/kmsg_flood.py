"""Write N records to /dev/kmsg from one process (runs in the guest)."""

from __future__ import annotations

import os
import sys


def main(n: int) -> None:
    fd = os.open("/dev/kmsg", os.O_WRONLY)
    try:
        for i in range(n):
            os.write(fd, f"<6>lab: ring buffer filler record {i:06d} {'x' * 120}\n".encode())
    finally:
        os.close(fd)


if __name__ == "__main__":
    main(int(sys.argv[1]))
