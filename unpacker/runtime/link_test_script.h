// The link test's side inside the environment's interpreter (link_test.cc
// runs it): a small Python program, kept apart from the C++ that drives it.
#pragma once

namespace airlock::unpacker {

// Run by the environment's interpreter with -I -S -B (no site, no user or
// environment settings, no bytecode written): argv TIMEOUT JOBS, the objects' absolute paths
// NUL-separated on stdin. Prints {"ready": N} (or {"ctypes": why} and exits
// 3), then one line per object as it finishes, in any order:
// {"i": INDEX} loaded, or with "error" (dlerror's text), "signal" (its
// name), "exit" (status) or "timeout" (seconds), and "output" (what the
// object printed). Each object is loaded in a forked child that ends with
// os._exit, so no destructor and no atexit handler of it ever runs. Kept
// to what Python 3.6 has.
inline constexpr const char* kLinkTestScript = R"PY(
import json, os, selectors, signal, sys, time

def emit(obj):
    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(1, data):]

def text(b):
    return b.decode("utf-8", "replace")

def enc(s):
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeError:
        return s.encode("utf-8", "backslashreplace")

def describe(e):
    return "%s: %s" % (type(e).__name__, e)

try:
    import ctypes
except BaseException as e:
    emit({"ctypes": text(enc(describe(e)))})
    sys.exit(3)

MARK = b"\0airlock-link-test-error\0"
CAP = 65536
timeout = float(sys.argv[1])
jobs = max(1, int(sys.argv[2]))
paths = [p for p in sys.stdin.buffer.read().split(b"\0") if p]
emit({"ready": len(paths)})

def child(path, w):
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.dup2(w, 1)
    os.dup2(w, 2)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    try:
        ctypes.CDLL(os.fsdecode(path), mode=os.RTLD_NOW)
    except OSError as e:
        os.write(2, MARK + enc(str(e)))
        os._exit(1)
    except BaseException as e:
        os.write(2, MARK + enc(describe(e)))
        os._exit(2)
    os._exit(0)

sel = selectors.DefaultSelector()
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda n, f: None)
sel.register(wake_r, selectors.EVENT_READ, None)
running = {}

def read_some(st):
    while st["fd"] is not None:
        try:
            b = os.read(st["fd"], 65536)
        except BlockingIOError:
            return
        if not b:
            sel.unregister(st["fd"])
            os.close(st["fd"])
            st["fd"] = None
            return
        st["out"] = (st["out"] + b)[-CAP:]

def finish(st, res):
    read_some(st)
    if st["fd"] is not None:
        sel.unregister(st["fd"])
        os.close(st["fd"])
    del running[st["pid"]]
    out = st["out"]
    if MARK in out:
        out, msg = out.split(MARK, 1)
        if "exit" in res and res["exit"] in (1, 2):
            res = {"error": text(msg)}
    if "exit" in res and res["exit"] == 0:
        res = {}
    res["i"] = st["i"]
    if out.strip():
        res["output"] = text(out[-4096:])
    emit(res)

nxt = 0
while nxt < len(paths) or running:
    while nxt < len(paths) and len(running) < jobs:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                child(paths[nxt], w)
            finally:
                os._exit(3)
        os.close(w)
        os.set_blocking(r, False)
        st = {"i": nxt, "pid": pid, "fd": r, "start": time.monotonic(), "out": b""}
        running[pid] = st
        sel.register(r, selectors.EVENT_READ, st)
        nxt += 1
    for key, _ in sel.select(0.5):
        if key.data is None:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        else:
            read_some(key.data)
    now = time.monotonic()
    for st in list(running.values()):
        pid, status = os.waitpid(st["pid"], os.WNOHANG)
        if pid == 0 and now - st["start"] > timeout:
            os.kill(st["pid"], signal.SIGKILL)
            os.waitpid(st["pid"], 0)
            finish(st, {"timeout": timeout})
        elif pid != 0 and os.WIFSIGNALED(status):
            n = os.WTERMSIG(status)
            try:
                name = signal.Signals(n).name
            except ValueError:
                name = "signal %d" % n
            finish(st, {"signal": name})
        elif pid != 0:
            finish(st, {"exit": os.WEXITSTATUS(status)})
)PY";

}  // namespace airlock::unpacker
