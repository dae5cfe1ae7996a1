#!/usr/bin/env python3
"""How far can one more evidence gate take small chat? A frontier over the clips clipper makes.

    python3 infra/scripts/small-chat-gates.py [--data ../shared/data] [--clipper target/release/clipper]
                                              [--thin 30] [--config FILE] [--top 12]

The two small-chat headline cells pull against each other: dota2's precision at 4 clips/h
rewards clipping only the surest bursts, kimdoe's recall at 4 clips/h rewards clipping up to the
budget. This script measures, on the clips the current detector makes, what any single extra
gate on one input of the triggering window (a feature, an evidence input, a score part) could do:

  1. `clipper eval --json --thin N --thin-draws` on kimdoe and dota2: clipper's figures and the
     best of the nine simple rules (the bar each cell must reach).
  2. `clipper replay --json --windows --thin N --thin-draw D` for every draw D: each clip joined
     to the window that triggered it; its outcome by the data README's rules (dota2: inside
     [s - 10, e + 30] of a highlight; kimdoe: the labels with o - 10 <= t <= o + 60), kept at
     the 4/h budget per stream and draw by score, as `clipper eval` keeps them. The script's own
     figures for the ungated clips are printed beside eval's as a check.
  3. For every numeric input and 12 thresholds each way (quantiles of the dota2 clips): the clips
     that pass, dota2's precision and kimdoe's caught labels among them. Printed: the gates that
     keep kimdoe at or above its best rule, best dota2 precision first, and the best gates
     regardless of kimdoe.
  4. Each input's ROC AUC, right clips against wrong, on each set.
  5. A logistic regression and a small gradient-boosted model over all those inputs, 5 folds by
     stream: the ROC AUC with which any combination of them ranks dota2's right clips above
     the wrong ones.

A dropped clip here is only removed; live, a later window could trigger in its place (the
cooldown no longer holds it back), so a gate worth having must be confirmed by `clipper eval
--config`. This is a bound on single gates, not on every detector.

Needs pandas and scikit-learn (pip). Reads ../shared/data; writes nothing.
"""

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labelled import labels_of  # infra/scripts/labelled.py

# Window fields that are not inputs to gate on.
SKIP = {"end_ms", "start_ms", "channel", "top_emote", "top_phrase", "top_tokens", "viewers",
        "bits", "subs", "raid_viewers", "warm", "gated", "rising", "threshold"}


def files_of(data, name):
    d = os.path.join(data, name)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".tsv"))


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def eval_json(clipper, data, name, thin, config):
    cmd = [clipper, "eval", "--json", "--labels", os.path.join(data, name, "labels.csv")]
    if thin > 1:
        cmd += ["--thin", str(thin), "--thin-draws"]
    if config:
        cmd += ["--config", config]
    return json.loads(run(cmd + files_of(data, name)))


def clips_of_draw(clipper, files, thin, draw, config):
    """Clips of one draw, each with its triggering window's inputs, and seconds per stream."""
    cmd = [clipper, "replay", "--json", "--windows"]
    if thin > 1:
        cmd += ["--thin", str(thin), "--thin-draw", str(draw)]
    if config:
        cmd += ["--config", config]
    windows, clips, seconds = {}, [], defaultdict(float)
    for line in run(cmd + files).splitlines():
        o = json.loads(line)
        sid = os.path.splitext(os.path.basename(o["source"]))[0]
        if o.get("type") == "window":
            w = o["window"]
            t = w["features"]["end_ms"] / 1000.0
            seconds[sid] = max(seconds[sid], t)
            x = {}
            for part in (w["features"], w["assessment"]["evidence"], w["scores"]):
                x.update({k: float(v) for k, v in part.items()
                          if k not in SKIP and isinstance(v, (int, float))
                          and not isinstance(v, bool)})
            x["novelty"] = float(w["assessment"].get("anomaly_rel") or 0.0)
            windows[(sid, t)] = x
        elif "at" in o:
            clips.append((sid, o["at"], o["score"]))
    rows = []
    for sid, t, score in clips:
        x = windows.get((sid, t))
        if x is None:
            sys.exit(f"no window ends at {t} s in {sid}: is this clipper's replay output current?")
        rows.append({"draw": draw, "sid": sid, "t": t, "score": score, **x})
    return rows, seconds


def collect(clipper, data, name, thin, config, jobs):
    files = files_of(data, name)
    with ThreadPoolExecutor(jobs) as ex:
        parts = list(ex.map(lambda d: clips_of_draw(clipper, files, thin, d, config), range(thin)))
    rows = [r for p, _ in parts for r in p]
    seconds = {(d, sid): s for d, (_, secs) in enumerate(parts) for sid, s in secs.items()}
    return pd.DataFrame(rows), seconds


def keep_budget(df, seconds, budget=4.0):
    """The clips `clipper eval` keeps: per stream and draw, the top-scored floor(budget × hours)."""
    df = df.sort_values("score", ascending=False)
    rank = df.groupby(["draw", "sid"]).cumcount()
    k = [max(1, int(budget * seconds[(dr, sid)] / 3600.0)) for dr, sid in zip(df.draw, df.sid)]
    return df[rank.to_numpy() < np.array(k)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--clipper", default="target/release/clipper")
    ap.add_argument("--thin", type=int, default=30)
    ap.add_argument("--config", help="a `clipper --config` file to measure instead of the defaults")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()

    ev = {n: eval_json(a.clipper, a.data, n, a.thin, a.config) for n in ("kimdoe", "dota2")}
    best = {n: {b["measure"]: b for b in ev[n]["best"]} for n in ev}
    k_rule = best["kimdoe"]["recall_at_4"]
    d_rule = best["dota2"]["precision_at_4"]
    k_rule_caught = next(r["scores"]["caught_at_4"] for r in ev["kimdoe"]["rules"]
                         if r["rule"] == k_rule["rule"])

    dl, kl = labels_of(a.data, "dota2"), labels_of(a.data, "kimdoe")
    d, dsec = collect(a.clipper, a.data, "dota2", a.thin, a.config, a.jobs)
    k, ksec = collect(a.clipper, a.data, "kimdoe", a.thin, a.config, a.jobs)
    d = keep_budget(d, dsec)
    k = keep_budget(k, ksec)
    d["ok"] = [any(s - 10 <= t <= e + 30 for s, e in dl.get(sid, []))
               for sid, t in zip(d.sid, d.t)]
    k["caught"] = [tuple((dr, sid, i) for i, o in enumerate(kl.get(sid, [])) if o - 10 <= t <= o + 60)
                   for dr, sid, t in zip(k.draw, k.sid, k.t)]

    def caught(df):
        return len({c for cs in df.caught for c in cs})

    print(f"chat thinned to 1 chatter in {a.thin}, all {a.thin} draws; clips kept at 4/h")
    print(f"dota2 precision at 4/h: this script {d.ok.mean():.3f} ({int(d.ok.sum())}/{len(d)}), "
          f"clipper eval {ev['dota2']['ours']['precision_at_4']:.3f} "
          f"({ev['dota2']['ours']['correct_at_4']}/{ev['dota2']['ours']['kept_at_4']}); "
          f"best rule {d_rule['best_rule']:.3f} ({d_rule['rule']})")
    print(f"kimdoe labels caught at 4/h: this script {caught(k)}, clipper eval "
          f"{ev['kimdoe']['ours']['caught_at_4']}; best rule {k_rule_caught} ({k_rule['rule']})")

    inputs = [c for c in d.columns if c not in ("draw", "sid", "t", "ok") and d[c].nunique() > 1]
    rows = []
    for f in inputs:
        for q in np.linspace(0.05, 0.6, 12):
            for side, thr in ((">=", np.quantile(d[f], q)), ("<=", np.quantile(d[f], 1 - q))):
                dm = d[f] >= thr if side == ">=" else d[f] <= thr
                km = k[f] >= thr if side == ">=" else k[f] <= thr
                if dm.sum() < 20:
                    continue
                rows.append({"gate": f"{f} {side} {thr:.3g}", "dota2 clips": int(dm.sum()),
                             "dota2 precision": round(d.ok[dm].mean(), 3),
                             "kimdoe caught": caught(k[km])})
    r = pd.DataFrame(rows).drop_duplicates()
    r = r.sort_values(["dota2 precision", "kimdoe caught"], ascending=False)
    keep = r[r["kimdoe caught"] >= k_rule_caught]
    print(f"\n{len(inputs)} inputs, {len(r)} gates")
    print(f"\ngates keeping kimdoe at or above its best rule ({k_rule_caught} caught), "
          f"best dota2 precision first (the rule: {d_rule['best_rule']:.3f}):")
    print(keep.head(a.top).to_string(index=False))
    print("\ngates by dota2 precision alone:")
    print(r.head(a.top).to_string(index=False))

    # Each input alone: how it ranks the right clips above the wrong ones on each set.
    k["ok"] = k.caught.map(bool)
    auc = pd.DataFrame({n: {f: roc_auc_score(df.ok, df[f]) for f in inputs if df[f].nunique() > 1}
                        for n, df in (("dota2", d), ("kimdoe", k))}).round(3)
    print("\neach input's ROC AUC, right clips against wrong (kimdoe: caught a label), lowest first:")
    print(auc.sort_values("dota2").to_string())

    # How well could any combination of these inputs tell dota2's right clips from wrong ones?
    X, y, groups = d[inputs].fillna(0.0).to_numpy(), d.ok.to_numpy(), d.sid.to_numpy()
    cv = GroupKFold(5)
    print()
    for name, model in (
            ("LogisticRegression",
             make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=5000))),
            ("GradientBoostingClassifier", GradientBoostingClassifier(max_depth=2, random_state=0))):
        p = cross_val_predict(model, X, y, groups=groups, cv=cv, method="predict_proba")[:, 1]
        print(f"{name} over all {len(inputs)} inputs, 5 folds by stream: ROC AUC "
              f"{roc_auc_score(y, p):.3f} (right against wrong dota2 clips)")


if __name__ == "__main__":
    main()
