"""A small scikit-learn model server that follows an mlreg serving folder.

Usage: server.py DIR [--host 127.0.0.1] [--port 8000] [--pid-file FILE] [--poll SECONDS]

Loads DIR/current/model.joblib at start-up and answers:
  POST /predict   {"instances": [[f1, f2, ...], ...]}  (or {"features": [f1, f2, ...]} for one row)
                  -> {"version", "digest", "predictions", "probabilities"?}
  GET  /version   -> {"name", "version", "digest", "stage", "switchedAt", "loadedAt", "path"}
Every answer also names the version that computed it in the X-Model-Version header.

Reload (the contract in README.md): on SIGHUP (what `mlreg follow ... --exec 'kill -HUP ...'`
sends), or when --poll sees DIR/current point elsewhere, a background thread resolves DIR/current
once, loads the model and its metadata completely from the resolved folder, and only then replaces
the one reference the request handlers read. A request is answered entirely by the model it picked up
at its start, old or new, never by a half-loaded one. A load that fails (missing or damaged file)
keeps the old model serving and is logged.

Needs scikit-learn and joblib (Debian: python3-sklearn). Standard library otherwise.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib

MODEL_FILE = "model.joblib"
METADATA_FILE = ".mlreg-version.json"
MAX_BODY = 1 << 20


def log(message):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    print(f"{stamp} server[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


class Loaded:
    """One model and what it is, immutable once built: handlers share it without locks."""

    def __init__(self, folder, model, meta):
        self.folder = folder
        self.model = model
        self.name = meta.get("name")
        # Without the metadata file (a folder made by `mlreg checkout`), the version folder's name
        # is the version: DIR/versions/<version>.
        self.version = meta.get("version") or os.path.basename(folder)
        self.digest = meta.get("digest")
        self.stage = meta.get("stage")
        self.switched_at = meta.get("switchedAt")
        self.loaded_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def describe(self):
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "stage": self.stage,
            "switchedAt": self.switched_at,
            "loadedAt": self.loaded_at,
            "path": self.folder,
        }


def resolve_current(serving_dir):
    """The version folder DIR/current points at now, resolved once so that a switch during the load
    cannot mix the files of two versions."""
    current = os.path.join(serving_dir, "current")
    if not os.path.lexists(current):
        raise FileNotFoundError(f"{current} does not exist (run `mlreg follow NAME DIR --once` or `mlreg checkout`)")
    return os.path.realpath(current)


def load(serving_dir):
    folder = resolve_current(serving_dir)
    meta_path = os.path.join(folder, METADATA_FILE)
    meta = {}
    if os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if not isinstance(meta, dict):
            raise ValueError(f"{meta_path} is not a JSON object")
    model = joblib.load(os.path.join(folder, MODEL_FILE))
    if not hasattr(model, "predict"):
        raise TypeError(f"{os.path.join(folder, MODEL_FILE)} holds a {type(model).__name__}, which has no predict()")
    return Loaded(folder, model, meta)


class State:
    def __init__(self, serving_dir, loaded):
        self.serving_dir = serving_dir
        # The one reference requests read. Replaced (never mutated) by the reloader thread; reading
        # and assigning an attribute are atomic in CPython, so a handler sees the old or the new model.
        self.loaded = loaded
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def reloader(self):
        while not self.stopping.is_set():
            self.wake.wait()
            self.wake.clear()
            if self.stopping.is_set():
                return
            # Signals that arrive during this load set `wake` again, so the latest switch is always
            # loaded, and a burst of signals costs one or two loads rather than one each.
            self.reload()

    def reload(self):
        old = self.loaded
        try:
            folder = resolve_current(self.serving_dir)
            if folder == old.folder:
                log(f"reload: {folder} is already serving ({old.version}); nothing to do")
                return
            started = time.monotonic()
            new = load(self.serving_dir)
        except Exception as err:  # a failed load must never take the old model down
            log(f"reload failed, still serving {old.version}: {type(err).__name__}: {err}")
            return
        self.loaded = new
        log(f"now serving {new.version} (was {old.version}), loaded in {(time.monotonic() - started) * 1000:.0f} ms from {new.folder}")

    def poller(self, seconds):
        """For servers nobody can signal: notice DIR/current pointing elsewhere."""
        while not self.stopping.wait(seconds):
            try:
                if resolve_current(self.serving_dir) != self.loaded.folder:
                    self.wake.set()
            except OSError as err:
                log(f"poll: {err}")


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: load balancers and load generators reuse connections
        server_version = "mlreg-example-server/1"
        # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
        # client's delayed ACK (~40 ms per request on Linux).
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # no access log: one line per request would drown the reload lines
            pass

        def send_json(self, status, body, version=None):
            data = (json.dumps(body) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if version is not None:
                self.send_header("X-Model-Version", version)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            loaded = state.loaded
            if self.path == "/version":
                self.send_json(200, loaded.describe(), loaded.version)
            elif self.path == "/healthz":
                self.send_json(200, {"ok": True, "version": loaded.version}, loaded.version)
            else:
                self.send_json(404, {"error": f"no such path {self.path}: try POST /predict or GET /version"})

        def do_POST(self):
            if self.path != "/predict":
                self.send_json(404, {"error": f"no such path {self.path}: try POST /predict"})
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self.send_json(411, {"error": "a Content-Length header is required"})
                self.close_connection = True
                return
            if length < 0 or length > MAX_BODY:
                self.send_json(413, {"error": f"the body must be at most {MAX_BODY} bytes"})
                self.close_connection = True
                return
            body = self.rfile.read(length)
            # Pick the model once: everything below uses this one, even if a reload swaps it meanwhile.
            loaded = state.loaded
            try:
                rows = parse_rows(json.loads(body))
            except (ValueError, TypeError) as err:
                self.send_json(400, {"error": str(err), "version": loaded.version}, loaded.version)
                return
            try:
                answer = {"version": loaded.version, "digest": loaded.digest, "predictions": loaded.model.predict(rows).tolist()}
                if hasattr(loaded.model, "predict_proba"):
                    answer["probabilities"] = loaded.model.predict_proba(rows).tolist()
            except ValueError as err:  # e.g. the wrong number of features for this model
                self.send_json(400, {"error": str(err), "version": loaded.version}, loaded.version)
                return
            self.send_json(200, answer, loaded.version)

    return Handler


def parse_rows(doc):
    if not isinstance(doc, dict):
        raise ValueError('the body must be a JSON object: {"instances": [[...], ...]} or {"features": [...]}')
    if "instances" in doc:
        rows = doc["instances"]
    elif "features" in doc:
        rows = [doc["features"]]
    else:
        raise ValueError('the body needs "instances" (a list of rows) or "features" (one row)')
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        raise ValueError("rows must be non-empty lists of numbers")
    for r in rows:
        for v in r:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"features must be numbers, got {json.dumps(v)}")
    return rows


def write_pid_file(path):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="the serving folder mlreg follow keeps (DIR/current/model.joblib)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on stdout)")
    ap.add_argument("--pid-file", help="written once the server is ready, for `kill -HUP $(cat FILE)`")
    ap.add_argument("--poll", type=float, default=0, help="also reload when DIR/current changes, checked every SECONDS (0: only on SIGHUP)")
    args = ap.parse_args()

    try:
        state = State(args.dir, load(args.dir))
    except Exception as err:
        log(f"cannot load the model from {args.dir}/current: {type(err).__name__}: {err}")
        sys.exit(1)

    # The handler only wakes the reloader: loading in a signal handler would stall the main thread.
    signal.signal(signal.SIGHUP, lambda *_: state.wake.set())
    threading.Thread(target=state.reloader, name="reloader", daemon=True).start()
    if args.poll > 0:
        threading.Thread(target=state.poller, args=(args.poll,), name="poller", daemon=True).start()

    ThreadingHTTPServer.request_queue_size = 128
    ThreadingHTTPServer.daemon_threads = True
    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()

    host, port = httpd.server_address[:2]
    if args.pid_file:
        write_pid_file(args.pid_file)
    log(f"serving {state.loaded.version} from {state.loaded.folder} on http://{host}:{port}")
    print(json.dumps({"url": f"http://{host}:{port}", "pid": os.getpid(), "version": state.loaded.version}), flush=True)

    while not stop.wait(1):
        pass
    state.stopping.set()
    state.wake.set()
    httpd.shutdown()
    httpd.server_close()
    if args.pid_file:
        try:
            os.unlink(args.pid_file)
        except FileNotFoundError:
            pass
    log("stopped")


if __name__ == "__main__":
    main()
