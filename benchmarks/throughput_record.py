"""The benchmarks' throughput record (``wag/data/throughput.json``), read by the Tab. 10 projection of notebook 2.

``benchmarks/count_captions.py --record`` and ``benchmarks/study.py --record`` write their measurements here with the
machine, the command and the date (:func:`record`); the format is ``wag.analysis.sections.compute_costs.ThroughputRecord``.
Run alone, this script prints the record:

    .venv/bin/python benchmarks/throughput_record.py
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from wag.analysis.sections.compute_costs import Throughput, ThroughputRecord, measurements, read_throughput
from wag.core.io import write_text

RECORD = Path(__file__).resolve().parents[1] / "wag" / "data" / "throughput.json"


def machine() -> str:
    """CPU model, cores, memory and bfloat16 instructions of this machine, in one line."""
    cpu, flags, mem_kb = "", set(), 0
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name") and not cpu:
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
        with open("/proc/meminfo", encoding="ascii") as fh:
            mem_kb = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError):
        pass
    bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    parts = [cpu or platform.processor() or platform.machine(), f"{os.cpu_count()} cores"]
    if mem_kb:
        parts.append(f"{mem_kb / 2**20:.0f} GB RAM")
    parts.append(", ".join(bf16) if bf16 else "no bf16 instructions")
    return ", ".join(parts) + f", {platform.system()} {platform.release()}"


def load() -> str:
    """The 1/5/15-minute load averages (the machine may be shared)."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def command(script: str, argv: list[str]) -> str:
    """The command line that measured it, as one would retype it from the repository root."""
    return " ".join([".venv/bin/python", f"benchmarks/{script}", *argv])


def record(name: str, entry: dict, path: Path = RECORD) -> Path:
    """Add or replace measurement ``name`` (fields of ``Throughput`` except machine/date, which are filled here)."""
    t = Throughput.model_validate(
        {"machine": machine(), "date": datetime.date.today().isoformat(), **entry}
    )  # validated before anything is written
    current = read_throughput(path).measurements if path.is_file() else {}
    rec = ThroughputRecord(measurements=dict(sorted({**current, name: t}.items())))
    write_text(path, rec.model_dump_json(indent=2) + "\n")
    print(f"recorded {name} in {path}")
    return path


if __name__ == "__main__":
    if not RECORD.is_file():
        sys.exit(f"no record yet at {RECORD}: run count_captions.py --record and study.py --record")
    print(measurements(read_throughput(RECORD)).to_string(index=False))
