"""Checks at the door: run before any work so a bad path, value, device or address fails in one line.

Argparse ``type=`` validators (:func:`positive_int`, :func:`unit_float`, ...) and checks of output folders,
input files (existence, permissions, a regular file (never a FIFO, which would block), a size limit, UTF-8 with the
line number of the first bad byte, a byte-order mark dropped), YAML with limits (size, and the node count with aliases
expanded, so an alias bomb is refused before it is built), torch devices, Dask scheduler addresses and checkpoint
files. Each raises :class:`InputCheckError` naming the problem and the fix, quoting at most a short excerpt.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from wag.core.errors import WagError


class InputCheckError(WagError, ValueError):
    """An input (path, option value, device, address, checkpoint) failed a check at the door."""


# ---------------------------------------------------------------------------------------------
# option values (argparse ``type=``)
# ---------------------------------------------------------------------------------------------


def _option_value(text: str, parse: type, in_range: Callable[[float], bool], not_parsed: str, out_of_range: str) -> Any:
    """``parse(text)`` if it is in range, else one ArgumentTypeError (``{text}``/``{value}`` filled in)."""
    try:
        value = parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(not_parsed.format(text=text)) from None
    if not in_range(value):
        raise argparse.ArgumentTypeError(out_of_range.format(text=text, value=value))
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (batch sizes, worker counts, steps)."""
    return _option_value(
        text,
        int,
        lambda v: v >= 1,
        "{text!r} is not a whole number; give a positive integer such as 1 or 256",
        "must be a positive integer (got {value}); give 1 or more",
    )


def positive_float(text: str) -> float:
    """A finite number > 0 (timeouts)."""
    return _option_value(
        text,
        float,
        lambda v: 0 < v < float("inf"),
        "{text!r} is not a number; give a positive number such as 5",
        "must be a positive number (got {text}); give e.g. 5",
    )


def unit_float(text: str) -> float:
    """A number in [0, 1] (thresholds, fractions)."""
    return _option_value(
        text,
        float,
        lambda v: 0.0 <= v <= 1.0,
        "{text!r} is not a number; give a value between 0 and 1 such as 0.5",
        "must be between 0 and 1 (got {text}); give e.g. 0.5",
    )


# ---------------------------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------------------------


def check_output_dir(path: str | os.PathLike[str], what: str = "--out") -> Path:
    """An output folder that exists and is writable, or can be created; nothing is created here."""
    p = Path(os.path.expanduser(str(path)))
    if p.exists() and not p.is_dir():
        raise InputCheckError(
            f"{what} {p} is an existing file, not a folder; give a folder path (it is created if missing)"
        )
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputCheckError(
            f"{what} {p} cannot be created: {probe} is a file, not a folder; give another folder path"
        )
    where = "is not writable" if probe == p else f"cannot be created: {probe} is not writable"
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputCheckError(f"{what} {p} {where}; choose a folder you can write to or fix its permissions")
    try:  # os.access says yes to root everywhere: try a real (removed) file where the first write would go
        fd, tmp = tempfile.mkstemp(prefix=".wag-write-check-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputCheckError(
            f"{what} {p} {where} ({exc.strerror}); choose a folder you can write to or fix its permissions"
        ) from None
    return p


def _size_text(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.4g} {unit}"
        n /= 1024
    return str(n)


def check_input_file(path: str | os.PathLike[str], what: str = "input file", max_bytes: int | None = None) -> Path:
    """A regular file (not a folder, FIFO or device) that exists, is readable and holds at most ``max_bytes``."""
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise InputCheckError(f"{what} {p} does not exist; check the path")
    if p.is_dir():
        raise InputCheckError(f"{what} {p} is a folder; give a file")
    if not p.is_file():
        raise InputCheckError(
            f"{what} {p} is not a regular file (a FIFO, socket or device, which could block or never end); "
            "give a regular file (copy the data into one)"
        )
    if not os.access(p, os.R_OK):
        raise InputCheckError(f"{what} {p} is not readable (permission denied); fix its permissions (chmod u+r)")
    if max_bytes is not None and (size := p.stat().st_size) > max_bytes:
        raise InputCheckError(
            f"{what} {p} is {_size_text(size)}, more than the limit of {_size_text(max_bytes)}; "
            "check that it is the right file, or split it"
        )
    return p


def check_input_dir(path: str | os.PathLike[str], what: str = "input folder") -> Path:
    """A folder that exists and is readable."""
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise InputCheckError(f"{what} {p} does not exist; check the path")
    if not p.is_dir():
        raise InputCheckError(f"{what} {p} is a file, not a folder; give a folder")
    if not os.access(p, os.R_OK | os.X_OK):
        raise InputCheckError(f"{what} {p} is not readable (permission denied); fix its permissions")
    return p


def read_utf8_text(path: str | os.PathLike[str], what: str = "text file", max_bytes: int | None = None) -> str:
    """The text of a UTF-8 file (a leading byte-order mark dropped); a bad byte raises naming the file, the line and
    the column; a file over ``max_bytes`` is refused before it is read."""
    p = check_input_file(path, what, max_bytes)
    data = p.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputCheckError(
            f"{what} {p} is not UTF-8: byte 0x{data[exc.start]:02x} at line {line}, column {col} ({exc.reason}); "
            "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None


# ---------------------------------------------------------------------------------------------
# YAML with limits
# ---------------------------------------------------------------------------------------------

#: Largest YAML document read (profiles are a few KiB).
MAX_YAML_BYTES = 1 << 20
#: Most YAML nodes, counting each alias as the nodes it stands for: a 500-byte alias bomb names billions.
MAX_YAML_NODES = 200_000


def load_yaml(text: str, source: str, *, max_nodes: int = MAX_YAML_NODES) -> Any:
    """``yaml.safe_load(text)`` after the document's size with every alias expanded is checked against ``max_nodes``
    (an alias bomb, a recursive alias or a too-deep nesting is one :class:`InputCheckError` naming ``source``).
    A YAML syntax error raises ``yaml.YAMLError`` as usual."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise InputCheckError(
            f"{source} is {_size_text(len(text.encode('utf-8')))} of YAML, more than the limit of "
            f"{_size_text(MAX_YAML_BYTES)}; check that it is the right file"
        )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _count_nodes(node, {}, set(), max_nodes, source)
    except RecursionError:
        raise InputCheckError(f"{source}: the YAML is nested too deeply to read; flatten it") from None
    return yaml.safe_load(text)


def _count_nodes(node: yaml.Node, memo: dict[int, int], active: set[int], limit: int, source: str) -> int:
    """Nodes under ``node`` with aliases expanded (``memo``: per node object, so shared anchors cost once)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise InputCheckError(f"{source}: a YAML alias refers to itself (a recursive structure); remove the loop")
    active.add(key)
    n = 1
    if isinstance(node, yaml.SequenceNode):
        children: list[yaml.Node] = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [x for pair in node.value for x in pair]
    else:
        children = []
    for child in children:
        n += _count_nodes(child, memo, active, limit, source)
        if n > limit:
            raise InputCheckError(
                f"{source}: the YAML expands to more than {limit:,} values (each alias counted as what it repeats); "
                "a profile is never that large: remove the nested aliases (a YAML 'billion laughs' document?)"
            )
    active.discard(key)
    memo[key] = n
    return n


# ---------------------------------------------------------------------------------------------
# devices and cluster addresses
# ---------------------------------------------------------------------------------------------


def available_devices() -> list[str]:
    """Torch devices usable on this machine (``cpu`` and, where present, ``cuda:N`` and ``mps``)."""
    import torch

    devs = ["cpu"]
    if torch.cuda.is_available():
        devs += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devs.append("mps")
    return devs


def check_device(device: str | None) -> str:
    """A torch device string that exists on this machine (``None`` means ``cpu``)."""
    import torch

    name = device or "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise InputCheckError(f"unknown device {name!r}; available devices: {', '.join(available_devices())}") from None
    ok = available_devices()
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (dev.index is not None and dev.index >= n):
            raise InputCheckError(
                f"device {name!r} requested but CUDA is not available here ({n} GPUs); "
                f"available devices: {', '.join(ok)}; pass --device cpu"
            )
    elif dev.type == "mps" and "mps" not in ok:
        raise InputCheckError(
            f"device {name!r} requested but MPS is not available here; available devices: {', '.join(ok)}; pass --device cpu"
        )
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise InputCheckError(f"device {name!r} is not supported; available devices: {', '.join(ok)}")
    return name


def check_scheduler(address: str, timeout: float = 5.0) -> str:
    """A Dask scheduler address that answers a TCP connection within ``timeout`` seconds."""
    text = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(text)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise InputCheckError(
            f"Dask scheduler address {address!r} is not host:port or tcp://host:port; give e.g. tcp://10.0.0.5:8786"
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        raise InputCheckError(
            f"Dask scheduler at {address} did not answer within {timeout:g} s ({reason}); start it (dask scheduler), "
            "fix the address, raise --connect-timeout, or omit --scheduler to use a local cluster"
        ) from None
    return text


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------

#: The pickled magic number that opens a legacy (non-zip) torch.save file.
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"

PICKLE_HELP = (
    'convert it once, in an environment you trust, to safetensors: python -c "import torch; '
    "from safetensors.torch import save_file; sd = torch.load('IN.pt', weights_only=False); "
    "sd = sd.get('state_dict', sd); save_file({k.removeprefix('module.'): v.contiguous() for k, v in sd.items()}, 'OUT.safetensors')\""
)


def checkpoint_format(path: str | os.PathLike[str]) -> str:
    """``"safetensors"``, ``"torch-zip"`` (torch.save archive), ``"torch-legacy"`` (torch.save before 1.6) or
    ``"pickle"`` (a bare pickle) from the file's first bytes.

    Anything else raises :class:`InputCheckError` ("not a checkpoint").
    """
    p = check_input_file(path, "checkpoint")
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(8)
        legacy = head + fh.read(len(_TORCH_LEGACY_MAGIC) - 8)
        fh.seek(8)
        if len(head) == 8:
            (n,) = struct.unpack("<Q", head)
            if 2 <= n <= min(size - 8, 100_000_000):
                header = fh.read(n)
                if header[:1] == b"{":
                    try:
                        json.loads(header.decode("utf-8"))
                        return "safetensors"
                    except (UnicodeDecodeError, ValueError):
                        pass
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if legacy == _TORCH_LEGACY_MAGIC:
        return "torch-legacy"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    raise InputCheckError(
        f"{p} is not a checkpoint: neither safetensors nor a PyTorch state dict (first bytes {head[:8]!r}, {size} bytes); "
        "give an open_clip checkpoint (.safetensors, or a .pt/.bin written by torch.save of a state dict)"
    )
