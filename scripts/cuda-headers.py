#!/usr/bin/env python3
"""Downloads the C headers of NVIDIA's CUDA wheels on PyPI, without the libraries.

The wheels are hundreds of megabytes each (cuDNN's is over 700 MB) but their `include` folders
are small: this reads each wheel's zip directory and then only the header entries, with HTTP
range requests, so the whole set is a few megabytes. scripts/check-c-bindings.py checks the
KusariCUDA bindings against them.

Usage: cuda-headers.py DESTINATION
Writes DESTINATION/<wheel folder>/... (for example DESTINATION/cudnn/cudnn.h) and
DESTINATION/VERSIONS, and does nothing when VERSIONS already lists the pinned wheels.
The index is PyPI's JSON API (project metadata with every release's files), or
$PYPI_JSON_URL, a URL with {name} in it.
"""

import io
import json
import os
import sys
import urllib.parse
import urllib.request
import zipfile

# The versions the bindings were checked against: CUDA 12.9 and cuDNN 9, which Kusari targets.
WHEELS = {
    "nvidia-cuda-runtime-cu12": "12.9.79",    # cuda.h, library_types.h, driver_types.h
    "nvidia-cuda-nvcc-cu12": "12.9.86",       # crt/host_defines.h, which the runtime headers include
    "nvidia-cuda-cccl-cu12": "12.9.27",       # nv/target, which cuda_fp16.h includes
    "nvidia-cuda-nvrtc-cu12": "12.9.86",      # nvrtc.h
    "nvidia-cublas-cu12": "12.9.1.4",         # cublas_v2.h, cublasLt.h
    "nvidia-cudnn-cu12": "9.10.2.21",         # cudnn.h and the cudnn_*.h it includes
    "nvidia-nccl-cu12": "2.27.3",             # nccl.h
}

# Of these wheels only the folders the other headers include are needed.
ONLY_UNDER = {"nvidia-cuda-nvcc-cu12": "crt/", "nvidia-cuda-cccl-cu12": "nv/"}


class RangeReader(io.RawIOBase):
    """A seekable read-only view of a remote file, fetched by HTTP range requests."""

    def __init__(self, url):
        super().__init__()
        self.url, self.position = url, 0
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=60) as response:
            self.size = int(response.headers["Content-Length"])

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def readinto(self, buffer):
        if self.position >= self.size or len(buffer) == 0:
            return 0
        last = min(self.size, self.position + len(buffer)) - 1
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={self.position}-{last}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            if response.status != 206:
                raise OSError(f"{self.url}: the server ignored the byte range (HTTP {response.status})")
            data = response.read()
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def wheel_url(name, version):
    """The URL of the manylinux x86-64 wheel of `name` `version`."""
    metadata_url = os.environ.get("PYPI_JSON_URL", "https://pypi.org/pypi/{name}/json").format(name=name)
    with urllib.request.urlopen(metadata_url, timeout=60) as response:
        files = json.load(response)["releases"].get(version, [])
    for entry in files:
        if entry["filename"].endswith(".whl") and "manylinux" in entry["filename"] and "x86_64" in entry["filename"]:
            return urllib.parse.urljoin(metadata_url, entry["url"])
    raise OSError(f"{name} {version}: no manylinux x86_64 wheel among {[entry['filename'] for entry in files]}")


def extract_headers(name, version, destination):
    """Writes the `nvidia/<folder>/include/...` entries of a wheel under destination/<folder>/."""
    count = 0
    archive = zipfile.ZipFile(io.BufferedReader(RangeReader(wheel_url(name, version)), buffer_size=1 << 16))
    for entry in archive.namelist():
        parts = entry.split("/")
        if len(parts) > 3 and parts[0] == "nvidia" and parts[2] == "include" and not entry.endswith("/") \
                and "/".join(parts[3:]).startswith(ONLY_UNDER.get(name, "")):
            target = os.path.join(destination, parts[1], *parts[3:])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as output:
                output.write(archive.read(entry))
            count += 1
    if count == 0:
        raise OSError(f"{name} {version}: the wheel has no nvidia/*/include headers")
    return count


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    destination = sys.argv[1]
    stamp = os.path.join(destination, "VERSIONS")
    wanted = "".join(f"{name}=={version}\n" for name, version in WHEELS.items())
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return 0
    os.makedirs(destination, exist_ok=True)
    for name, version in WHEELS.items():
        print(f"{name} {version}: {extract_headers(name, version, destination)} headers")
    with open(stamp, "w") as output:
        output.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
