"""The machine a benchmark ran on, and an estimate of its peak FP32 throughput.

Timings only mean something next to the machine that produced them: CPU model, cores, SIMD
flags, the load average (other processes steal time: a load above the core count means the
numbers are noisy), and the torch build and thread settings.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import time
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo_fields() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty off Linux)."""
    fields: dict[str, str] = {}
    try:
        text = CPUINFO.read_text()
    except OSError:
        return fields
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _lscpu_max_mhz() -> float | None:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"CPU max MHz:\s*([\d.]+)", out)
    return float(match.group(1)) if match else None


def fp32_flops_per_cycle(vendor: str, family: int | None, flags: set[str]) -> tuple[int, str]:
    """Peak FP32 FLOPs per cycle per core from the SIMD flags, and the assumption made.

    An FMA is 2 FLOPs. AMD Zen 4 runs AVX-512 on two 256-bit FMA pipes (double-pumped), so it
    peaks like AVX2 with 2 FMA units; Intel server cores with AVX-512 usually have two 512-bit
    FMA units (some have one: then the estimate is 2x too high).
    """
    has_fma = "fma" in flags
    if "avx512f" in flags and vendor == "GenuineIntel":
        return 64, "AVX-512: 2 FMA units x 16 FP32 lanes x 2 FLOPs"
    if "avx512f" in flags and vendor == "AuthenticAMD":
        return 32, "AVX-512 on AMD Zen 4: 2 FMA pipes x 8 FP32 lanes (256-bit) x 2 FLOPs"
    if "avx2" in flags and has_fma:
        return 32, "AVX2+FMA: 2 FMA units x 8 FP32 lanes x 2 FLOPs"
    if "avx" in flags:
        return 16, "AVX without FMA: 1 add + 1 mul unit x 8 FP32 lanes"
    return 8, "SSE: 1 add + 1 mul unit x 4 FP32 lanes"


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def describe_machine() -> dict:
    """CPU, cores, flags, frequency, peak FP32 estimate, Python and torch versions, threads."""
    import torch

    info = _cpuinfo_fields()
    flags = set(info.get("flags", "").split())
    vendor = info.get("vendor_id", "")
    family = int(info["cpu family"]) if info.get("cpu family", "").isdigit() else None
    cores = os.cpu_count() or 1
    mhz = _lscpu_max_mhz()
    frequency_source = "lscpu CPU max MHz"
    if mhz is None and info.get("cpu MHz"):
        mhz, frequency_source = float(info["cpu MHz"]), "/proc/cpuinfo cpu MHz (no turbo)"
    per_cycle, simd_assumption = fp32_flops_per_cycle(vendor, family, flags)
    peak = cores * (mhz or 0) * 1e6 * per_cycle
    return {
        "cpu": info.get("model name") or platform.processor() or "unknown",
        "vendor": vendor,
        "cpu_family": family,
        "cpu_model": info.get("model"),
        "cores": cores,
        "simd": sorted(f for f in flags if f in {"avx", "avx2", "fma", "avx512f", "avx512_bf16"}),
        "mhz": mhz,
        "peak_fp32_gflops": round(peak / 1e9, 1) if peak else None,
        "peak_assumption": (
            f"{cores} cores x {mhz or 0:.0f} MHz ({frequency_source}) x {per_cycle} FLOPs/cycle "
            f"({simd_assumption})"
        ),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset (threads spin)"),
        "load_average": load_average(),
    }


class OtherLoad:
    """How much of the machine's CPU time other processes took between start() and share():
    all busy CPU time (Linux /proc/stat) minus this process's and its children's. Near 0 means
    the numbers are clean; a large share means they were measured on a busy machine."""

    def start(self) -> OtherLoad:
        self.busy, self.own, self.wall = self._busy(), self._own(), time.perf_counter()
        return self

    def share(self) -> float | None:
        busy = self._busy()
        if busy is None or self.busy is None:
            return None
        wall = time.perf_counter() - self.wall
        others = (busy - self.busy) - (self._own() - self.own)
        return round(max(0.0, others) / (wall * (os.cpu_count() or 1)), 3)

    @staticmethod
    def _busy() -> float | None:
        try:
            with open("/proc/stat") as stat:
                values = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total
