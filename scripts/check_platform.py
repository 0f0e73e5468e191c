"""Exits with an error unless this is the platform requirements-dev.lock is resolved for."""

import platform
import sys

FOR = ("linux", "x86_64", "cpython", (3, 10))
here = (sys.platform, platform.machine(), sys.implementation.name, sys.version_info[:2])
if here != FOR:
    sys.exit(
        f"error: requirements-dev.lock is resolved for Linux x86_64 and CPython 3.10, not "
        f"{platform.system()} {platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}; run make lock on such a machine"
    )
