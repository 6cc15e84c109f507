"""The package's own PEP 517 build backend (standard library only).

The package is a handful of pure-Python files: a wheel is a zip of them
with its metadata. Building it here, instead of with setuptools, means
`pip install ./client/python` needs nothing from a package index: the
build requires nothing, so pip's isolated build environment stays empty.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "omvd"
TAG = "py3-none-any"


def _project():
    """name, description and requires-python from pyproject.toml's [project]."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    try:
        import tomllib  # Python 3.11+
        return tomllib.loads(text)["project"]
    except ImportError:
        section = text.split("[project]", 1)[1].split("\n[", 1)[0]
        return dict(re.findall(r'^([\w-]+)\s*=\s*"([^"]*)"', section, re.M))


def _version():
    with open(os.path.join(ROOT, PACKAGE, "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    p = _project()
    lines = ["Metadata-Version: 2.1", "Name: " + p["name"], "Version: " + _version(),
             "Summary: " + p.get("description", ""), "License: MIT",
             "Requires-Python: " + p.get("requires-python", ">=3.9")]
    for extra in ("numpy", "pillow"):
        lines += ["Provides-Extra: " + extra,
                  'Requires-Dist: %s; extra == "%s"' % ("Pillow" if extra == "pillow"
                                                        else extra, extra)]
    return "\n".join(lines) + "\n"


def _sources():
    """The package's modules, relative to ROOT, in a stable order."""
    names = sorted(n for n in os.listdir(os.path.join(ROOT, PACKAGE)) if n.endswith(".py"))
    return [PACKAGE + "/" + n for n in names]


def _dist_info():
    return "%s-%s.dist-info" % (PACKAGE, _version())


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d" % (name, digest.decode(), len(data))


# ---- the PEP 517 hooks ----

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "%s-%s-%s.whl" % (PACKAGE, _version(), TAG)
    info = _dist_info()
    files = []
    for rel in _sources():
        with open(os.path.join(ROOT, rel), "rb") as f:
            files.append((rel, f.read()))
    files.append((info + "/METADATA", _metadata().encode()))
    files.append((info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: omvd_build\n"
                                    "Root-Is-Purelib: true\nTag: %s\n" % TAG).encode()))
    record = [_record_line(n, d) for n, d in files] + [info + "/RECORD,,"]
    files.append((info + "/RECORD", ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                         zipfile.ZIP_DEFLATED) as whl:
        for rel, data in files:
            whl.writestr(zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return name


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (PACKAGE, _version())
    name = base + ".tar.gz"
    members = _sources() + ["pyproject.toml", "build_backend/omvd_build.py"]
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for rel in members:
            tar.add(os.path.join(ROOT, rel), arcname=base + "/" + rel)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return name
