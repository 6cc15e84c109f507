"""`pip install ./client/python` works offline (no package index: the
package builds with its own backend) into a virtual environment, and the
installed copy works."""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from omvtest import CALL_TIMEOUT, env_path, rpc, wait_until

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python")
NEEDED = ("pip",)  # Debian: python3-pip


class PipInstallTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="omvpy-pip-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # Offline and isolated from the source tree and any pip configuration.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PIP_") and k != "PYTHONPATH"}
        self.env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                        PIP_CONFIG_FILE=os.devnull)

    def run_ok(self, *argv, **kwargs):
        r = subprocess.run(argv, env=self.env, cwd=self.dir, capture_output=True, text=True,
                           timeout=120, **kwargs)
        self.assertEqual(r.returncode, 0, f"{argv}: {r.stdout}{r.stderr}")
        return r.stdout

    def test_pip_install_without_network(self):
        # pip builds in the source directory: build a copy, keep the tree clean.
        source = os.path.join(self.dir, "src")
        shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__", "meson.build"))
        venv = os.path.join(self.dir, "venv")
        self.run_ok(sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    venv)
        python = os.path.join(venv, "bin", "python")
        self.run_ok(python, "-m", "pip", "install", source)
        where = self.run_ok(python, "-c", "import omvd; print(omvd.__file__, omvd.__version__)")
        path, version = where.split()
        self.assertTrue(path.startswith(venv), path)
        self.assertEqual(version, "0.1.0")

        # The installed copy talks to a daemon (here one without a cam).
        sock = os.path.join(self.dir, "omvd.sock")
        daemon = subprocess.Popen([env_path("OMVD"), "--port", os.path.join(self.dir, "none"),
                                   "--socket", sock, "-q"])
        try:
            wait_until(lambda: rpc(sock, "status", quiet=True), what="omvd's socket")
            out = self.run_ok(python, "-m", "omvd", "--port", sock, "status")
            self.assertIn('"link"', out)
        finally:
            daemon.terminate()
            daemon.wait(timeout=CALL_TIMEOUT)


if __name__ == "__main__":
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        print(f"SKIP: {', '.join(missing)} not installed for {sys.executable}")
        sys.exit(77)
    unittest.main()
