"""A minimal PEP 517 build backend for the pure-Python libllm package.

It exists so that `pip install ./bindings/python` needs nothing from a package index: the wheel
is a zip of libllm/*.py plus the dist-info files the wheel format requires.
"""
import base64
import hashlib
import os
import zipfile

NAME = "libllm"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)

METADATA = """Metadata-Version: 2.1
Name: libllm
Version: %s
Summary: Python bindings (ctypes) for libllm: run transformer language models on the CPU
Requires-Python: >=3.8
License: MIT
""" % VERSION

WHEEL = """Wheel-Version: 1.0
Generator: libllm-backend
Root-Is-Purelib: true
Tag: py3-none-any
"""


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    filename = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    files = []
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                files.append(("%s/%s" % (NAME, name), f.read()))
    files.append(("%s/METADATA" % DIST_INFO, METADATA.encode()))
    files.append(("%s/WHEEL" % DIST_INFO, WHEEL.encode()))
    record = [_record_line(a, d) for a, d in files] + ["%s/RECORD,," % DIST_INFO]
    files.append(("%s/RECORD" % DIST_INFO, ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            z.writestr(arcname, data)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    filename = "%s-%s.tar.gz" % (NAME, VERSION)
    base = "%s-%s" % (NAME, VERSION)
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as t:
        for rel in ("pyproject.toml", "_build/backend.py", "libllm"):
            t.add(os.path.join(HERE, rel), arcname="%s/%s" % (base, rel),
                  filter=lambda ti: None if "__pycache__" in ti.name else ti)
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = METADATA.encode()
        info.size = len(data)
        import io
        t.addfile(info, io.BytesIO(data))
    return filename
