"""The last step before bubblewrap: limits, identity, then ``exec bwrap``. Run as its own process.

``python -I -S _launch.py CONFIG_JSON`` (the grader's :mod:`teacher.grading.sandbox`
starts it; nothing else should). It runs in a fresh single-threaded process,
which is why it exists: the grader grades several notebooks at once in threads,
and setting limits or switching user in a forked copy of a threaded process
(``subprocess``'s ``preexec_fn``) can deadlock. Standard library only, no site
packages, nothing read from the environment.

In order, from the JSON object in ``argv[1]``:

1. ``rlimits``: ``{"RLIMIT_AS": n, ...}``, soft = hard, inherited by bwrap and
   every process of the sandbox;
2. ``remap`` (root only): ``[[source, mountpoint], ...]``: in a private mount
   namespace of this process, each source folder that the sandbox's user cannot
   reach (a Python under ``/root``, mode 0700) is bind-mounted onto a
   mountpoint it can reach; nothing outside this process sees it;
3. ``uid``/``gid`` (root only, when given): become that unprivileged user, no groups, so the
   sandbox never runs as host uid 0 (which could write global sysctls, and for
   which the kernel ignores the process limit);
4. ``argv``: ``exec`` it with the environment ``env`` (default
   ``{"PATH": "/usr/bin:/bin"}``, what bwrap gets: bwrap's first process inside
   the sandbox keeps bwrap's environment, readable there as ``/proc/1/environ``).
"""

import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


def _libc_call(name, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _remap(pairs):
    """Bind each ``source`` onto ``mountpoint`` in a private mount namespace of this process."""
    _libc_call("unshare", CLONE_NEWNS)
    _libc_call("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    for source, mountpoint in pairs:
        _libc_call("mount", os.fsencode(source), os.fsencode(mountpoint), None, MS_BIND | MS_REC, None)


def main(config):
    for name, value in config.get("rlimits", {}).items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if os.getuid() == 0 and "uid" in config:
        if config.get("remap"):
            _remap(config["remap"])
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
        if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - setuid cannot silently fail, but check
            raise SystemExit("launch: still uid 0 after setuid; refusing to start the sandbox")
    os.execve(config["argv"][0], config["argv"], config.get("env", {"PATH": "/usr/bin:/bin"}))


if __name__ == "__main__":
    try:
        main(json.loads(sys.argv[1]))
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"sandbox launch failed: {exc}\n")
        sys.exit(125)
