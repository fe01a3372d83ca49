"""Helpers of bench/sweep/run.sh: one JSON line per side and round, then the table.

  summarize.py ours-line BENCH WALL_S PEAK_KB RESULTS_DIR   (reads every job.json and metrics.json)
  summarize.py torch-line BENCH WALL_S LINES.jsonl          (the lines torch_job.py printed)
  summarize.py table RESULTS.jsonl THREADS
"""

import json
import os
import statistics
import sys

PHASES_OURS = ["data", "model", "train", "eval", "state", "write"]


def add(total, phases):
    for k, v in phases.items():
        total[k] = total.get(k, 0.0) + v


def ours_line(bench, wall, peak_kb, root):
    phases, per_task, accs, job_wall = {}, {}, [], 0.0
    jobs = 0
    for d, _, files in os.walk(root):
        if "job.json" not in files or "DONE" not in files:
            continue
        rec = json.load(open(os.path.join(d, "job.json")))
        prov = rec["provenance"]
        p = prov["phases_s"]  # the runner's extra provenance fields sit beside the others
        add(phases, p)
        task = rec["job"]["task"]
        per_task[task] = per_task.get(task, 0.0) + p["eval"]
        job_wall += prov["wall_time_s"]
        metrics = json.load(open(os.path.join(d, "metrics.json")))
        accs.append(metrics["epochs"][-1]["dev"]["accuracy"])
        jobs += 1
    if jobs == 0:
        sys.exit(f"no finished job under {root}")
    phases["other"] = max(0.0, float(wall) - job_wall)
    return {"impl": "ours", "bench": bench, "wall_s": float(wall), "jobs": jobs,
            "peak_bytes": int(peak_kb) * 1024, "phases_s": phases, "eval_s": per_task,
            "accuracy": statistics.mean(accs)}


def torch_line(bench, wall, path):
    runs = [json.loads(l) for l in open(path) if l.strip()]
    if not runs:
        sys.exit(f"no PyTorch run finished ({path}); see its .log beside it")
    phases, per_task = {}, {}
    for r in runs:
        add(phases, r["phases_s"])
        per_task[r["task"]] = per_task.get(r["task"], 0.0) + r["phases_s"]["eval"]
    phases["other"] = max(0.0, float(wall) - sum(r["wall_s"] for r in runs))
    return {"impl": "torch", "bench": bench, "wall_s": float(wall), "jobs": len(runs),
            "peak_bytes": max(r["peak_bytes"] for r in runs), "phases_s": phases,
            "eval_s": per_task, "accuracy": statistics.mean(r["accuracy"] for r in runs),
            "torch": runs[0]["torch"]}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def table(path, threads):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    by = {}
    for r in rows:
        by.setdefault((r["bench"], r["impl"]), []).append(r)
    if ("sweep", "ours") in by and ("sweep", "torch") in by:
        o, t = by[("sweep", "ours")], by[("sweep", "torch")]
        ow, tw = med([r["wall_s"] for r in o]), med([r["wall_s"] for r in t])
        print(f"\nsweep: {o[0]['jobs']} MiniLM SST-2 jobs, {threads} threads, median of "
              f"{len(o)} (ours) / {len(t)} (PyTorch {t[0]['torch']}) rounds")
        print(f"{'':8} {'wall s':>8} {'peak MB':>8} {'dev acc':>8}")
        for name, rs, w in (("ours", o, ow), ("PyTorch", t, tw)):
            print(f"{name:8} {w:8.1f} {med([r['peak_bytes'] for r in rs]) / 2**20:8.0f} "
                  f"{med([r['accuracy'] for r in rs]):8.4f}")
        print(f"speed (PyTorch / ours): {tw / ow:.2f}x   rounds: "
              + ", ".join(f"{a['wall_s']:.0f}/{b['wall_s']:.0f}" for a, b in zip(t, o)))
        for name, rs in (("ours", o), ("PyTorch", t)):
            keys = sorted({k for r in rs for k in r["phases_s"]},
                          key=lambda k: (PHASES_OURS + ["startup", "other"]).index(k)
                          if k in PHASES_OURS + ["startup", "other"] else 99)
            parts = ", ".join(f"{k} {med([r['phases_s'].get(k, 0.0) for r in rs]):.1f}" for k in keys)
            print(f"  {name} phases (s, summed over jobs, median): {parts}")
    if ("eval", "ours") in by and ("eval", "torch") in by:
        o, t = by[("eval", "ours")], by[("eval", "torch")]
        print(f"\nevaluation pass, batch 32, max length 128, {threads} threads, median of {len(o)}")
        # eval_order = "length" (bench/sweep/eval-length.toml), when it was run.
        s = by.get(("eval-length", "ours"), [])
        print(f"{'task':10} {'ours s':>8} {'PyTorch s':>9} {'speed':>6} "
              f"{'ours, length order s':>21} {'speed':>6}")
        for task in sorted(o[0]["eval_s"]):
            a = med([r["eval_s"][task] for r in o])
            b = med([r["eval_s"].get(task, float("nan")) for r in t])
            c = med([r["eval_s"][task] for r in s if task in r["eval_s"]])
            print(f"{task:10} {a:8.2f} {b:9.2f} {b / a:5.2f}x {c:21.2f} {b / c:5.2f}x")


def main():
    mode = sys.argv[1]
    if mode == "ours-line":
        print(json.dumps(ours_line(*sys.argv[2:6])))
    elif mode == "torch-line":
        print(json.dumps(torch_line(*sys.argv[2:5])))
    elif mode == "table":
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
