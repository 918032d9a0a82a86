#!/usr/bin/python3
"""Runs a command as if on a Linux 3.10 kernel (RHEL 7), x86_64.

Usage: seccomp_3_10.py [--] CMD [ARGS...]
       seccomp_3_10.py --list     (the system calls that answer ENOSYS)

Installs a seccomp filter that lets through the x86_64 system calls that
Linux 3.10 has (numbers 0..313; 3.10's table ended at finit_module=313) and
answers ENOSYS to every other number: sched_setattr (314, Linux 3.14) and
everything after it (getrandom, memfd_create, renameat2, copy_file_range,
statx, rseq, the 424+ range: pidfd_*, clone3, openat2, close_range,
faccessat2, ...), including numbers added after this script was written.
ENOSYS is what a 3.10 kernel answers for a number it does not know, so
programs take the same fallbacks they would take there. Then execs CMD: the
filter is inherited across exec and by every child, and cannot be removed.

Not emulated: flags that old system calls gained later (O_TMPFILE, ...), the
kernel version that uname reports, and 32-bit (int 0x80) system calls, which
the filter refuses (libseccomp's default for a foreign architecture).

Needs Debian's python3-seccomp (runs with /usr/bin/python3).
"""
import errno
import os
import sys

import seccomp

LAST_3_10 = 313   # finit_module, the last x86_64 system call of Linux 3.10
HIGHEST = 1023    # above every number x86_64 has or is likely to have


def denied_names():
    out = []
    for nr in range(LAST_3_10 + 1, HIGHEST + 1):
        try:
            name = seccomp.resolve_syscall(seccomp.Arch.X86_64, nr).decode()
        except (ValueError, RuntimeError):
            continue
        out.append("%d %s" % (nr, name))
    return out


def install():
    if os.uname().machine != "x86_64":
        sys.exit("seccomp_3_10: the 3.10 system call table here is x86_64's only")
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.ENOSYS))
    try:
        f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)  # binary tree: ~9 compares, not 314
    except (AttributeError, RuntimeError, ValueError, OSError):
        pass
    for nr in range(0, LAST_3_10 + 1):
        f.add_rule_exactly(seccomp.ALLOW, nr)
    f.load()


def main(argv):
    if argv and argv[0] == "--list":
        print("\n".join(denied_names()))
        return 0
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__.split("\n\n")[1])
    install()
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        sys.stderr.write("seccomp_3_10: %s: %s\n" % (argv[0], e.strerror))
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
