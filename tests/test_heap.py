"""heap.py: freed buffers that glibc keeps in the heap go back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# A freed 8 MiB mapping raises glibc's dynamic threshold above 4 MiB; a 4 MiB buffer is then
# carved from the heap, and once freed under a small live allocation it stays resident, until
# release_freed_memory() gives its pages back.
PROGRAM = """
import ctypes, sys
from fastpitch_tpu.heap import release_freed_memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
a = libc.malloc(8 << 20); ctypes.memset(a, 1, 8 << 20); libc.free(a)
before = rss()
b = libc.malloc(4 << 20); ctypes.memset(b, 1, 4 << 20)
pin = libc.malloc(1024)
libc.free(b)
kept = rss() - before
release_freed_memory()
print(kept, rss() - before)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc only")
def test_freed_heap_buffers_go_back_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                         check=True)
    kept, after = map(int, out.stdout.split())
    assert kept >= 3 << 20  # the freed 4 MiB stayed resident
    assert after < 1 << 20  # and went back
