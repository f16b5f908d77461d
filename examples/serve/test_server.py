"""Tests of the example server's reload contract, on a serving folder laid out the way `mlreg follow`
lays it out (DIR/versions/<version>/ with model.joblib and .mlreg-version.json, DIR/current a link).
Run: /usr/bin/python3 -m unittest examples/serve/test_server.py   (needs scikit-learn; no mlreg needed)
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import joblib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "test", "fixtures")
MODELS = {"1.0.0": "cancer-v1.joblib", "2.0.0": "cancer-v2.joblib"}

with open(os.path.join(FIXTURES, "datasets", "holdout.csv")) as f:
    ROW = [float(x) for x in list(csv.reader(f))[1][:30]]
EXPECTED = {v: joblib.load(os.path.join(FIXTURES, "models", m)).predict_proba([ROW]).tolist() for v, m in MODELS.items()}


def switch(serving, version):
    """Point DIR/current at versions/<version> atomically, as mlreg does (a new link renamed over)."""
    tmp = os.path.join(serving, ".current.tmp")
    os.symlink(os.path.join("versions", version), tmp)
    os.replace(tmp, os.path.join(serving, "current"))


def add_version(serving, version, model_bytes=None):
    folder = os.path.join(serving, "versions", version)
    os.makedirs(folder)
    target = os.path.join(folder, "model.joblib")
    if model_bytes is None:
        shutil.copyfile(os.path.join(FIXTURES, "models", MODELS[version]), target)
    else:
        with open(target, "wb") as f:
            f.write(model_bytes)
    meta = {"name": "cancer", "version": version, "digest": "sha256:" + version, "stage": "production", "switchedAt": "now"}
    with open(os.path.join(folder, ".mlreg-version.json"), "w") as f:
        json.dump(meta, f)


class ServerTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mlreg-serve-test-")
        self.serving = os.path.join(self.work, "serving")
        add_version(self.serving, "1.0.0")
        add_version(self.serving, "2.0.0")
        switch(self.serving, "1.0.0")
        self.pid_file = os.path.join(self.work, "server.pid")
        self.log_file = os.path.join(self.work, "server.log")
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
        shutil.rmtree(self.work)

    def start(self, *extra):
        with open(self.log_file, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "server.py"), self.serving, "--port", "0", "--pid-file", self.pid_file, *extra],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        line = self.proc.stdout.readline()
        self.assertTrue(line, f"the server did not start: {self.log()}")
        self.url = json.loads(line)["url"]

    def log(self):
        with open(self.log_file) as f:
            return f.read()

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return r.status, json.load(r)

    def predict(self, body):
        req = urllib.request.Request(self.url + "/predict", data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.load(r), r.headers["X-Model-Version"]
        except urllib.error.HTTPError as err:
            return err.code, json.load(err), err.headers["X-Model-Version"]

    def wait_for_version(self, version, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.get("/version")[1]["version"] == version:
                return
            time.sleep(0.02)
        self.fail(f"the server never served {version}")

    def test_serves_the_current_version_with_its_metadata(self):
        self.start()
        status, doc = self.get("/version")
        self.assertEqual(status, 200)
        self.assertEqual((doc["name"], doc["version"], doc["digest"], doc["stage"]), ("cancer", "1.0.0", "sha256:1.0.0", "production"))
        self.assertEqual(doc["path"], os.path.realpath(os.path.join(self.serving, "versions", "1.0.0")))
        with open(self.pid_file) as f:
            self.assertEqual(int(f.read()), self.proc.pid)
        status, doc, header = self.predict({"features": ROW})
        self.assertEqual((status, doc["version"], header, doc["probabilities"]), (200, "1.0.0", "1.0.0", EXPECTED["1.0.0"]))
        status, doc, _ = self.predict({"instances": [ROW, ROW]})
        self.assertEqual((status, len(doc["predictions"])), (200, 2))

    def test_bad_requests_are_400_and_name_the_version(self):
        self.start()
        for body in ({"features": [1, 2]}, {"x": 1}, [1, 2], {"features": ["a"] * 30}, {"instances": []}, {"features": [True] * 30}):
            status, doc, header = self.predict(body)
            self.assertEqual(status, 400, body)
            self.assertEqual((doc["version"], header), ("1.0.0", "1.0.0"))
            self.assertTrue(doc["error"])
        req = urllib.request.Request(self.url + "/predict", data=b"{not json", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(caught.exception.code, 400)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(self.url + "/nothing", timeout=5)
        self.assertEqual(caught.exception.code, 404)

    def test_sighup_switches_under_load_and_every_answer_is_whole(self):
        self.start()
        answers, problems, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    status, doc, header = self.predict({"features": ROW})
                except Exception as err:  # a refused or dropped connection is a failure of the swap
                    problems.append(repr(err))
                    continue
                if status != 200 or doc["version"] != header or doc["probabilities"] != EXPECTED.get(doc["version"]):
                    problems.append((status, doc, header))
                answers.append(doc["version"])

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(10):
                version = "2.0.0" if i % 2 == 0 else "1.0.0"
                switch(self.serving, version)
                os.kill(self.proc.pid, signal.SIGHUP)
                self.wait_for_version(version)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(problems, [])
        self.assertGreater(answers.count("1.0.0"), 0)
        self.assertGreater(answers.count("2.0.0"), 0)

    def test_a_failed_load_keeps_the_old_model(self):
        self.start()
        add_version(self.serving, "3.0.0", b"this is not a joblib file")
        switch(self.serving, "3.0.0")
        os.kill(self.proc.pid, signal.SIGHUP)
        # A missing model file too.
        os.makedirs(os.path.join(self.serving, "versions", "4.0.0"))
        time.sleep(0.5)
        switch(self.serving, "4.0.0")
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(1)
        status, doc, _ = self.predict({"features": ROW})
        self.assertEqual((status, doc["version"]), (200, "1.0.0"))
        # The next good switch still works.
        switch(self.serving, "2.0.0")
        os.kill(self.proc.pid, signal.SIGHUP)
        self.wait_for_version("2.0.0")
        self.proc.terminate()
        self.proc.wait(10)
        log = self.log()
        self.assertIn("reload failed, still serving 1.0.0", log)
        self.assertIn("FileNotFoundError", log)

    def test_poll_notices_a_switch_without_a_signal(self):
        self.start("--poll", "0.2")
        switch(self.serving, "2.0.0")
        self.wait_for_version("2.0.0", seconds=5)

    def test_sigterm_stops_cleanly_and_removes_the_pid_file(self):
        self.start()
        self.proc.terminate()
        self.assertEqual(self.proc.wait(10), 0)
        self.assertFalse(os.path.exists(self.pid_file))

    def test_refuses_to_start_without_current(self):
        os.unlink(os.path.join(self.serving, "current"))
        proc = subprocess.run([sys.executable, os.path.join(HERE, "server.py"), self.serving, "--port", "0"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("does not exist", proc.stderr)


if __name__ == "__main__":
    unittest.main()
