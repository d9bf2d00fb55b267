#!/usr/bin/env python3
"""When does a headshot run reach its peak memory, and does its resident set grow with the shoot?

GNU time's peak RSS (what bench/run.sh reports) is one number per run; this samples the
process's /proc status every 20 ms and prints each time the peak (VmHWM) rose, then the
median and largest RSS in each tenth of the run. A start-up peak with a flat middle means the
shoot's size does not drive memory; a climb tenth by tenth means something is kept per photo.

    bench/rss-trace.py BINARY SHOOT OUT [headshot run flags...]
    bench/rss-trace.py target/release/headshot /dev/shm/hs-bench/rss-pool/in-3000 /tmp/out \
        --jobs 2 --export gallery --tone clean-bright --crop headshot-4x5

OUT is removed first. Linux only (reads /proc). RSS_TRACE_SECONDS sets the sampling interval
(default 0.02; a longer one disturbs the run less, and VmHWM still catches a peak between samples).
"""

import os
import shutil
import subprocess
import sys
import time

SAMPLE_SECONDS = float(os.environ.get("RSS_TRACE_SECONDS", "0.02"))


def status_kb(pid, fields):
    """The named fields (kB) of /proc/PID/status, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            lines = dict(line.split(":", 1) for line in status)
    except (FileNotFoundError, ProcessLookupError):
        return None
    return [int(lines.get(field, "0 kB").split()[0]) for field in fields]


def trace(command):
    """Runs `command`, printing each rise of its peak; returns (seconds, rss) samples and exit code."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start, peak, samples = time.monotonic(), 0, []
    while True:
        # wait4, not Popen.poll: its rusage gives the final peak (GNU time's %M), which
        # includes any rise after the last sample.
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        sample = status_kb(process.pid, ["VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"])
        if sample is not None:
            rss, hwm, anon, file, shmem = sample
            seconds = time.monotonic() - start
            samples.append((seconds, rss))
            # Only rises of at least 1 MB: the start-up creep in kB steps is noise here.
            if hwm >= peak + 1024:
                print(
                    f"{seconds:8.2f} s  peak {hwm / 1024:6.0f} MB  (RSS {rss / 1024:.0f} MB: anonymous "
                    f"{anon / 1024:.0f}, files {file / 1024:.0f}, shared {shmem / 1024:.0f})",
                    flush=True,
                )
                peak = hwm
        time.sleep(SAMPLE_SECONDS)
    code = process.returncode = os.waitstatus_to_exitcode(status)
    print(f"exit {code} after {time.monotonic() - start:.1f} s; peak RSS {usage.ru_maxrss / 1024:.0f} MB")
    return samples, code


def print_tenths(samples):
    """Median and largest RSS in each tenth of the run's samples."""
    count = len(samples)
    for tenth in range(10):
        chunk = sorted(rss for _, rss in samples[tenth * count // 10 : (tenth + 1) * count // 10])
        if chunk:
            median, largest = chunk[len(chunk) // 2], chunk[-1]
            print(f"tenth {tenth}: RSS median {median / 1024:4.0f} MB, largest {largest / 1024:4.0f} MB")


def main():
    if len(sys.argv) < 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2 if len(sys.argv) < 4 else 0
    binary, shoot, out, flags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    shutil.rmtree(out, ignore_errors=True)
    samples, code = trace([binary, "run", shoot, "--out", out, "--quiet", *flags])
    print_tenths(samples)
    return code


if __name__ == "__main__":
    sys.exit(main())
