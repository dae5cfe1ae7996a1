#!/usr/bin/env python3
"""Learn the detector's combination and reaction prior from labelled chat; validate it.

    python3 infra/scripts/learn-weights.py [--data ../shared/data] [--clipper target/release/clipper]
                                           [--write] [--folds] [--thin 1,10,30]
                                           [--C 0.3] [--monotone] [--drop a,b]
                                           [--train-thin 10,30] [--config-out FILE]
                                           [--fold-measure eval|script] [--eligible-only]

What it does:
  1. Replays every labelled set (kimdoe, dota2, chatinterpreter) through `clipper replay
     --windows --json`, the same pipeline as live, and labels each window (kimdoe: within
     [o - 5, o + 50] of a hot clip's start; dota2: inside [s, e + 20] of a highlight;
     chatinterpreter: inside a spike with binary == 1, against spikes with binary != 1).
  2. Learns the reaction prior: per reaction token, the log lift of its chatter share in
     positive windows over all windows, pooled over the sets (each set weighs the same).
  3. Replays again with that prior and fits a logistic regression over the evidence features
     and the forest's novelty (scikit-learn; each set weighs the same, classes balanced inside
     a set), then picks the threshold that makes about TARGET_RATE clips per stream-hour on
     the sets that are whole streams.
  4. `--folds`: leave one set out: learns 2-4 on the other two sets and scores the third with
     `clipper eval` (recall at 4 clips/h, precision at 4 clips/h, ROC AUC, each beside the best
     of the nine simple rules of the same run), full and thinned (`--thin`: 1 chatter in N,
     pooled over all N draws as `clipper eval --thin-draws` does). `--fold-measure script`
     scores with this script's own copy of the measures on one draw of its own hash instead.
  5. `--config-out FILE`: the learned prior and weights as a `clipper eval --config` file, to
     score them without rebuilding; `--C`: the regression's inverse L2 strength (default 0.3);
     `--monotone`: bound every weight at >= 0 (scipy L-BFGS-B on the same penalised loss);
     `--drop a,b`: leave inputs out; `--train-thin 10,30`: fit the weights on the full sets and
     on copies thinned to 1 chatter in N (each copy weighs as much as a full set);
     `--cross-fit`: fit on reaction evidence from a prior learned on the other sets only;
     `--eligible-only`: fit on the windows past the evidence gates only.
  6. `--write`: writes models/data/weights.json and models/data/reaction-prior.json from all
     three sets (rebuild `clipper` afterwards: they are compiled in).

Needs numpy and scikit-learn (pip). Data stays in ../shared/data; nothing of it is written into
the repository except the learned weights and prior tokens.
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from labelled import labels_of  # infra/scripts/labelled.py

INPUTS = ["act5", "act20", "act60", "chat20", "pois20", "z5", "z20", "react", "conc", "laugh", "hype",
          "question", "clip", "novelty"]
TARGET_RATE = 4.0      # clips per stream-hour the threshold aims at (README: <= 6 on kimdoe)
COOLDOWN_S = 60.0
PRIOR_TOKENS = 400     # tokens kept in the shipped prior
SETS = ["kimdoe", "dota2", "chatinterpreter"]


def keep_user(user, thin):
    if thin <= 1:
        return True
    h = int.from_bytes(hashlib.blake2b(user.encode(), digest_size=8).digest(), "little")
    return h % thin == 0


def prepare(data, tmp, thin):
    """Write each set as TSV streams under tmp/<set>/<channel>/<stream>.tsv; return file lists
    and labels."""
    sets = {}
    for name in ["kimdoe", "dota2"]:
        src = os.path.join(data, name)
        files = sorted(f for f in os.listdir(src) if f.endswith(".tsv"))
        out_dir = os.path.join(tmp, name, name)
        os.makedirs(out_dir, exist_ok=True)
        paths = []
        for f in files:
            p = os.path.join(out_dir, f)
            with open(os.path.join(src, f), encoding="utf-8") as fin, \
                    open(p, "w", encoding="utf-8") as fout:
                for i, line in enumerate(fin):
                    parts = line.rstrip("\n").split("\t")
                    if i == 0 or len(parts) < 3 or keep_user(parts[1], thin):
                        fout.write(line)
            paths.append(p)
        sets[name] = {"files": paths, "labels": dict(labels_of(data, name)),
                      "kind": "points" if name == "kimdoe" else "intervals"}
    # chatinterpreter: spikes only; one stream per video, one channel per streamer.
    spikes = [json.loads(l) for l in open(os.path.join(data, "chatinterpreter",
                                                        "labeled_spikes.jsonl"), encoding="utf-8")]
    by_video = defaultdict(list)
    for s in spikes:
        by_video[(s["streamer_folder"], s["video_id"])].append(s)
    paths, spans = [], defaultdict(list)
    for (streamer, video), ss in sorted(by_video.items()):
        d = os.path.join(tmp, "chatinterpreter", "ci-" + streamer)
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, video + ".tsv")
        rows = []
        for k, s in enumerate(ss):
            for j, (t, m) in enumerate(zip(s["timestamps_s"], s["messages"])):
                user = f"m{video}_{k}_{j}"
                if keep_user(user, thin):
                    rows.append((t, user, m.replace("\t", " ").replace("\n", " ")))
            spans[video].append((s["start_s"], s["end_s"], s["binary"] == 1))
        rows.sort()
        with open(p, "w", encoding="utf-8") as f:
            f.write("offset_s\tuser\tmessage\n")
            for t, u, m in rows:
                f.write(f"{t:.3f}\t{u}\t{m}\n")
        paths.append(p)
    sets["chatinterpreter"] = {"files": paths, "labels": dict(spans), "kind": "spikes"}
    return sets


def run_clipper(clipper, args, config):
    """`clipper ARGS --config FILE` with `config` written to a temporary FILE; its stdout."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
        path = f.name
    try:
        return subprocess.run([clipper, *args, "--config", path], check=True,
                              capture_output=True, text=True).stdout
    finally:
        os.unlink(path)


def replay(clipper, files, config):
    """Windows and clips of a replay: (windows, clips, seconds per stream)."""
    out = run_clipper(clipper, ["replay", "--windows", "--json", *files], config)
    windows, clips, seconds = [], [], defaultdict(float)
    for line in out.splitlines():
        o = json.loads(line)
        if o.get("type") == "window":
            w = o["window"]
            f, a, sc = w["features"], w["assessment"], w["scores"]
            e = a["evidence"]
            sid = os.path.splitext(os.path.basename(o["source"]))[0]
            t = f["end_ms"] / 1000.0
            seconds[sid] = max(seconds[sid], t)
            x = [e[k] for k in INPUTS[:-1]] + [min(max(a["anomaly_rel"], 0.0), 3.0)
                                                if e["warm"] else 0.0]
            windows.append({"sid": sid, "t": t, "start": f["start_ms"] / 1000.0, "x": x,
                            "warm": e["warm"], "n20": f["rate_20s"] * 20.0,
                            "tokens": [(k["token"], k["chatters"]) for k in f.get("top_tokens", [])],
                            "chatters": f["chatters"], "combined": sc["combined"],
                            "gated": sc["gated"],
                            "messages": f["messages"], "channel": f["channel"]})
        elif "at" in o:
            sid = os.path.splitext(os.path.basename(o["source"]))[0]
            clips.append({"sid": sid, "t": o["at"], "score": o["score"],
                          "span": (o.get("clip_start", o["at"] - 18), o.get("clip_end", o["at"] + 12))})
    return windows, clips, seconds


def label_windows(windows, s):
    kind, labels = s["kind"], s["labels"]
    ys = []
    for w in windows:
        ls = labels.get(w["sid"], [])
        t = w["t"]
        if kind == "points":
            y = any(o - 5 <= t <= o + 50 for o in ls)
        elif kind == "intervals":
            y = any(a <= t <= b + 20 for a, b in ls)
        else:
            hit = [pos for a, b, pos in ls if w["start"] <= b + 5 and t >= a]
            y = None if not hit else any(hit)
        ys.append(y)
    return ys


def learn_prior(parts):
    """Per token: log lift of its chatter share in positive windows over all windows."""
    scores = defaultdict(float)
    support = defaultdict(float)
    for windows, ys in parts:
        pos = [w for w, y in zip(windows, ys) if y]
        allw = [w for w, y in zip(windows, ys) if y is not None]
        if not pos or not allw:
            continue
        sp, sa, cnt = defaultdict(float), defaultdict(float), defaultdict(int)
        for w in allw:
            for tok, n in w["tokens"]:
                sa[tok] += n / (w["chatters"] + 5.0)
        for w in pos:
            for tok, n in w["tokens"]:
                sp[tok] += n / (w["chatters"] + 5.0)
                cnt[tok] += 1
        for tok, v in sp.items():
            if cnt[tok] < 3:
                continue
            lift = math.log((v / len(pos) + 0.01) / (sa[tok] / len(allw) + 0.01))
            scores[tok] += max(0.0, min(3.0, lift)) / len(parts)
            support[tok] += cnt[tok]
    ranked = sorted(scores.items(), key=lambda kv: -kv[1] * math.log1p(support[kv[0]]))
    return {t: round(v, 3) for t, v in ranked[:PRIOR_TOKENS] if v > 0.05}


REG_C = 0.3           # inverse L2 strength of the logistic regression (--C)
MONOTONE = False      # --monotone: no negative weight
DROP = []             # --drop: inputs left out of the fit (weight 0)
CROSS_FIT = False     # --cross-fit: react evidence for the fit from the other sets' prior
ELIGIBLE_ONLY = False # --eligible-only: fit on the windows that may trigger (past the gates)


def fit(parts):
    X, Y, W = [], [], []
    for windows, ys in parts:
        rows = [(w["x"], y) for w, y in zip(windows, ys)
                if y is not None and w["warm"] and (not ELIGIBLE_ONLY or not w["gated"])]
        npos = sum(1 for _, y in rows if y)
        nneg = len(rows) - npos
        if npos == 0 or nneg == 0:
            continue
        for x, y in rows:
            X.append(x)
            Y.append(1 if y else 0)
            W.append((0.5 / npos if y else 0.5 / nneg) / len(parts))
    X, Y, W = np.array(X), np.array(Y), np.array(W)
    for k in DROP:
        X[:, INPUTS.index(k)] = 0.0   # a dropped input's weight is then 0
    W = W / W.mean()
    if not MONOTONE:
        m = LogisticRegression(C=REG_C, max_iter=2000)
        m.fit(X, Y, sample_weight=W)
        return float(m.intercept_[0]), {k: round(float(v), 4) for k, v in zip(INPUTS, m.coef_[0])}
    # Monotone: every input is evidence *for* a moment, so no weight may be negative (more
    # activity or more laughter never lowers the score). The same L2-penalised, weighted log
    # loss as scikit-learn's (C times the summed loss plus half the squared weights), minimised
    # with the weights bounded at 0 (L-BFGS-B); the intercept is free.
    d = X.shape[1]

    def loss(theta):
        b, w = theta[0], theta[1:]
        z = b + X @ w
        # log(1 + e^z) - y z, stably
        l = np.logaddexp(0.0, z) - Y * z
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        g = W * (p - Y)
        f = REG_C * float(W @ l) + 0.5 * float(w @ w)
        grad = np.concatenate(([REG_C * g.sum()], REG_C * (X.T @ g) + w))
        return f, grad

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                   bounds=[(None, None)] + [(0.0, None)] * d, options={"maxiter": 5000})
    if not res.success:
        raise SystemExit(f"monotone fit did not converge: {res.message}")
    return float(res.x[0]), {k: round(float(v), 4) for k, v in zip(INPUTS, res.x[1:])}


def simulate(windows, intercept, coef, thr):
    """Triggers per stream with the cooldown, as the decider makes them."""
    w = np.array([coef[k] for k in INPUTS])
    out = defaultdict(list)
    until = {}
    for win in windows:
        if not win["warm"] or win["gated"]:
            continue
        p = 1 / (1 + math.exp(-(intercept + float(np.dot(w, win["x"])))))
        if p >= thr and win["t"] >= until.get(win["sid"], -1e18):
            out[win["sid"]].append((win["t"], p))
            until[win["sid"]] = win["t"] + COOLDOWN_S
    return out


def pick_threshold(parts_full, intercept, coef):
    """Threshold that gives TARGET_RATE clips per hour over whole-stream sets."""
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        n, secs = 0, 0.0
        for windows, seconds in parts_full:
            trig = simulate(windows, intercept, coef, mid)
            n += sum(len(v) for v in trig.values())
            secs += sum(seconds.values())
        rate = n / max(secs / 3600, 1e-9)
        if rate > TARGET_RATE:
            lo = mid
        else:
            hi = mid
    return round(hi, 4)


def measures(kind, labels, clips, seconds, windows):
    if kind == "spikes":
        ys, ss = [], []
        best = defaultdict(float)
        for w in windows:
            for i, (a, b, pos) in enumerate(labels.get(w["sid"], [])):
                if w["start"] <= b + 5 and w["t"] >= a:
                    key = (w["sid"], i)
                    best[key] = max(best[key], w["combined"])
        for sid, ls in labels.items():
            for i, (a, b, pos) in enumerate(ls):
                ys.append(pos)
                ss.append(best.get((sid, i), 0.0))
        pos = [s for s, y in zip(ss, ys) if y]
        neg = [s for s, y in zip(ss, ys) if not y]
        auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / max(1, len(pos) * len(neg))
        return {"auc": round(auc, 3)}
    by = defaultdict(list)
    for c in clips:
        by[c["sid"]].append(c)
    hours = sum(seconds.values()) / 3600
    res = {"clips_per_hour": round(len(clips) / max(hours, 1e-9), 2)}
    if kind == "points":
        total = caught = contained = 0
        for sid, ls in labels.items():
            k = max(1, int(4 * seconds.get(sid, 0) / 3600))
            kept = sorted(by.get(sid, []), key=lambda c: -c["score"])[:k]
            for o in ls:
                total += 1
                if any(o - 10 <= c["t"] <= o + 60 for c in kept):
                    caught += 1
                    if any(c["span"][0] <= o <= c["span"][1] for c in kept):
                        contained += 1
        res.update({"recall_at_4": round(caught / max(total, 1), 3),
                    "contained_of_caught": round(contained / max(caught, 1), 3)})
    else:
        ok = det = 0
        for sid in seconds:
            ls = labels.get(sid, [])
            k = max(1, int(4 * seconds[sid] / 3600))
            kept = sorted(by.get(sid, []), key=lambda c: -c["score"])[:k]
            det += len(kept)
            ok += sum(1 for c in kept if any(a - 10 <= c["t"] <= b + 30 for a, b in ls))
        res["precision_at_4"] = round(ok / max(det, 1), 3)
    return res


HEADLINE = {"kimdoe": "recall_at_4", "dota2": "precision_at_4"}


def eval_held(clipper, data, held, thin, cfg):
    """Score a held-out set with `clipper eval` itself: the product's measures, pooled over
    every draw of 1 chatter in `thin` (`--thin-draws`), beside the best of the nine simple
    rules of the same run."""
    args = ["eval", "--json"]
    if thin > 1:
        args += ["--thin", str(thin), "--thin-draws"]
    d = os.path.join(data, held)
    if held == "chatinterpreter":
        args += ["--spikes", os.path.join(d, "labeled_spikes.jsonl")]
    else:
        args += ["--labels", os.path.join(d, "labels.csv")]
        args += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".tsv"))
    r = json.loads(run_clipper(clipper, args, cfg))
    if held == "chatinterpreter":
        return {"auc": round(r["clipper_auc"], 3), "best_rule_auc": round(r["best_rule"]["auc"], 3)}
    key = HEADLINE[held]
    best = next(b for b in r["best"] if b["measure"] == key)
    m = {key: round(best["clipper"], 3), "best_rule": round(best["best_rule"], 3),
         "rule": best["rule"], "clips_per_hour": round(r["ours"]["clips_per_hour"], 2)}
    if held == "kimdoe":
        m["contained_of_caught"] = round(r["ours"]["contained_of_caught_at_4"], 3)
    return m


def weights_json(intercept, coef, thr):
    """The `decision.weights` object."""
    return {"intercept": intercept, "features": coef, "threshold": thr}


def config(prior, intercept=None, coef=None, thr=None, ablate=None):
    c = {"model": {"evidence": {"prior": prior}}}
    if intercept is not None:
        c["decision"] = {"weights": weights_json(intercept, coef, thr),
                         "threshold": thr}
        if ablate:
            c["decision"]["ablate"] = {ablate: True}
    return c


def learn(clipper, sets, train, thinned=()):
    """Prior from the full sets; weights from the full sets and, when given, their thinned
    copies (`thinned`: prepared set dicts, each part weighing as much as a full set)."""
    raw = {n: replay(clipper, sets[n]["files"], config({}))[0] for n in train}
    prior = learn_prior([(raw[n], label_windows(raw[n], sets[n])) for n in train])
    again = {n: replay(clipper, sets[n]["files"], config(prior)) for n in train}
    # --cross-fit: the weights are fitted on windows whose reaction evidence comes from a prior
    # learned on the *other* training sets, since a prior learned on a set's own labels can make
    # its `react` look stronger in-sample than on chat the prior never saw (measured at stop
    # 20: react 1.13 -> 1.04, no headline measure moved by more than two clips).
    fit_prior = {n: prior for n in train}
    if CROSS_FIT and len(train) > 1:
        for n in train:
            others = [m for m in train if m != n]
            fit_prior[n] = learn_prior([(raw[m], label_windows(raw[m], sets[m])) for m in others])
    fit_windows = {n: (again[n][0] if fit_prior[n] is prior
                       else replay(clipper, sets[n]["files"], config(fit_prior[n]))[0])
                   for n in train}
    parts = [(fit_windows[n], label_windows(fit_windows[n], sets[n])) for n in train]
    for ts in thinned:
        for n in train:
            w = replay(clipper, ts[n]["files"], config(fit_prior[n]))[0]
            parts.append((w, label_windows(w, ts[n])))
    intercept, coef = fit(parts)
    full = [(again[n][0], again[n][2]) for n in train if sets[n]["kind"] != "spikes"]
    thr = pick_threshold(full, intercept, coef)
    return prior, intercept, coef, thr


def main():
    global REG_C, MONOTONE, DROP, CROSS_FIT, ELIGIBLE_ONLY
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--clipper", default=os.path.join(root, "target", "release", "clipper"))
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--folds", action="store_true")
    ap.add_argument("--thin", default="1,10,30")
    ap.add_argument("--fold-measure", choices=["eval", "script"], default="eval",
                    help="how --folds scores the held-out set: `clipper eval` pooled over every "
                    "draw of the thinning, beside the best rule (default), or this script's own "
                    "measures on one draw of its own hash (faster)")
    ap.add_argument("--C", type=float, default=0.3, help="inverse L2 strength (default 0.3)")
    ap.add_argument("--config-out", help="also write the learned weights and prior as a "
                    "`clipper eval --config` file (to score them without rebuilding)")
    ap.add_argument("--monotone", action="store_true", help="no negative weight (bounded fit; "
                    "tried at stop 19: it zeroes the activity inputs and kimdoe recall falls to 0.55)")
    ap.add_argument("--train-thin", default="", help="also fit the weights on copies thinned "
                    "to 1 chatter in N (comma-separated N)")
    ap.add_argument("--drop", default="", help="comma-separated inputs to leave out (weight 0)")
    ap.add_argument("--cross-fit", action="store_true", help="fit the weights on reaction "
                    "evidence from a prior learned on the other sets only")
    ap.add_argument("--eligible-only", action="store_true", help="fit on the windows past the "
                    "evidence gates only (the ones the threshold decides on)")
    args = ap.parse_args()
    ELIGIBLE_ONLY = args.eligible_only
    CROSS_FIT = args.cross_fit
    REG_C = args.C
    DROP = [k for k in args.drop.split(",") if k]
    for k in DROP:
        if k not in INPUTS:
            ap.error(f"--drop: unknown input {k!r} (inputs: {', '.join(INPUTS)})")
    MONOTONE = args.monotone
    thins = [int(x) for x in args.thin.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        full_sets = prepare(args.data, os.path.join(tmp, "t1"), 1)
        thin_sets = {1: full_sets}
        def sets_at(thin):
            if thin not in thin_sets:
                thin_sets[thin] = prepare(args.data, os.path.join(tmp, f"t{thin}"), thin)
            return thin_sets[thin]
        train_thin = [sets_at(int(x)) for x in args.train_thin.split(",") if x]
        if args.folds:
            print(f"{'held out':<16} {'thin':>4}  measures (trained on the other two sets)")
            for held in SETS:
                train = [n for n in SETS if n != held]
                prior, intercept, coef, thr = learn(args.clipper, full_sets, train, train_thin)
                cfg = config(prior, intercept, coef, thr)
                for thin in thins:
                    if args.fold_measure == "eval":
                        m = eval_held(args.clipper, args.data, held, thin, cfg)
                    else:
                        h = sets_at(thin)[held]
                        w, c, secs = replay(args.clipper, h["files"], cfg)
                        m = measures(h["kind"], h["labels"], c, secs, w)
                    print(f"{held:<16} {thin:>4}  {json.dumps(m)}", flush=True)
        prior, intercept, coef, thr = learn(args.clipper, full_sets, SETS, train_thin)
        print("weights:", json.dumps(weights_json(intercept, coef, thr)))
        print("prior tokens:", len(prior), "top:", list(prior.items())[:25])
        # Forest ablation on all sets with the final weights (forest's input zeroed and refit).
        for name in SETS:
            s = full_sets[name]
            w, c, secs = replay(args.clipper, s["files"], config(prior, intercept, coef, thr))
            print(f"{name:<16} all-sets weights  {json.dumps(measures(s['kind'], s['labels'], c, secs, w))}")
        if args.config_out:
            with open(args.config_out, "w") as f:
                json.dump(config(prior, intercept, coef, thr), f, ensure_ascii=False)
        if args.write:
            data_dir = os.path.join(root, "models", "data")
            with open(os.path.join(data_dir, "weights.json"), "w") as f:
                json.dump({**weights_json(intercept, coef, thr),
                           "learned_from": SETS, "script": "infra/scripts/learn-weights.py"},
                          f, indent=1, sort_keys=True)
                f.write("\n")
            with open(os.path.join(data_dir, "reaction-prior.json"), "w") as f:
                json.dump(prior, f, ensure_ascii=False, indent=0, sort_keys=True)
                f.write("\n")
            print("wrote models/data/weights.json and models/data/reaction-prior.json")


if __name__ == "__main__":
    sys.exit(main())
