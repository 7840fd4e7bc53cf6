"""heap.py: a long job's freed buffers go back to the system (glibc)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# A freed 8 MiB mapping raises glibc's dynamic threshold above 4 MiB; a 4 MiB buffer is then
# carved from the heap, and once freed under a small live allocation it stays resident. With
# the threshold fixed, the 4 MiB buffer is a mapping of its own and leaves with its free().
PROGRAM = """
import ctypes, sys
from fastpitch_tpu.heap import bound_heap
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
if sys.argv[1] == "bound":
    assert bound_heap()
a = libc.malloc(8 << 20); ctypes.memset(a, 1, 8 << 20); libc.free(a)
before = rss()
b = libc.malloc(4 << 20); ctypes.memset(b, 1, 4 << 20)
pin = libc.malloc(1024)
libc.free(b)
print(rss() - before)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc only")
def test_bounded_heap_returns_freed_buffers() -> None:
    def kept(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                             text=True, check=True)
        return int(out.stdout.strip())

    assert kept("default") >= 3 << 20  # the freed 4 MiB stayed resident
    assert kept("bound") < 1 << 20  # returned to the system
