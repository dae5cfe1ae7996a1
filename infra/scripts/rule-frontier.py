#!/usr/bin/env python3
"""Can any simple rate rule meet both small-chat bars at once? The rule family's frontier.

    python3 infra/scripts/rule-frontier.py [--data ../shared/data] [--thin 30] [--jobs 2]

`clipper eval` compares clipper with the best of nine simple rules *per set*: on kimdoe the rule
with the best recall at 4 clips/h, on dota2 the one with the best precision at 4 clips/h, each
picked with hindsight. This script asks whether one rule does both, over a far wider family than
nine, on chat thinned to 1 chatter in N (every draw, pooled as `clipper eval --thin-draws` pools
them):

  * messages: the count in a W s window (sliding, every second) against the mean and standard
    deviation (at least F) of the same count over the trailing T s, firing at z >= Z with a 30 s
    cooldown, scored by z: W in 3..30, Z in 2..6, F in 0.5, 1, 2, T in 300, 900 (W 5/10/20,
    F 1, T 300 are eval's nine);
  * distinct chatters: the same on the number of distinct chatters in the last W s (W 10, 20, 30,
    F 1, 1.5, 2, Z 2..4).

It scores them as the data README and `clipper eval` do (kimdoe: a label is caught when a kept
detection is within [o - 10, o + 60]; dota2: a kept detection is right inside [s - 10, e + 30];
per stream and draw the top-scored max(1, floor(4 x hours)) are kept), checks that its copy of
eval's nine rules gives eval's numbers (it prints them), and prints the rules that reach kimdoe's
bar (its best rule's caught labels), best dota2 precision first, and the rules that reach dota2's
bar on 20 kept clips or more, most kimdoe labels first. Thinning: FNV-1a (64 bit) of the user name modulo N, as
`clipper --thin`.

Needs numpy. Reads ../shared/data; writes nothing.
"""

import argparse
import itertools
import os
from collections import defaultdict
from multiprocessing import Pool

import numpy as np

from labelled import labels_of  # infra/scripts/labelled.py

COOLDOWN_S = 30
EVAL_RULES = [(w, z) for w in (5, 10, 20) for z in (2, 3, 4)]


def fnv1a(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def load(data, name, thin):
    """Per stream: per-draw per-second message counts, per-draw {user: [seconds]}, per-draw
    series length (its last message's second + 1) and the stream's seconds (the budget's)."""
    out = {}
    d = os.path.join(data, name)
    for f in sorted(os.listdir(d)):
        if not f.endswith(".tsv"):
            continue
        rows = []
        with open(os.path.join(d, f), encoding="utf-8", newline="\n") as fh:
            next(fh)
            for line in fh:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 2 and p[0].isdigit():
                    rows.append((int(p[0]), p[1]))
        last = max(t for t, _ in rows)
        draw = {u: fnv1a(u) % thin for u in {u for _, u in rows}}
        counts = np.zeros((thin, last + 1), np.int32)
        users = [defaultdict(list) for _ in range(thin)]
        for t, u in rows:
            counts[draw[u], t] += 1
            users[draw[u]][u].append(t)
        # As eval's per-second counts, a draw's series ends at its own last message.
        ends = [max((ts[-1] for ts in users[dr].values()), default=-1) + 1 for dr in range(thin)]
        out[f[:-4]] = (counts, users, ends, float(last))
    return out


def window_counts(per_second, w):
    c = np.concatenate([[0], np.cumsum(per_second)])
    t = np.arange(len(per_second))
    return (c[t + 1] - c[np.maximum(t + 1 - w, 0)]).astype(float)


def distinct_chatters(users, n, w):
    """Distinct chatters in (t - w, t] for every second t."""
    diff = np.zeros(n + w + 2)
    for times in users.values():
        times = sorted(times)
        start, end = times[0], times[0] + w
        for t in times[1:]:
            if t <= end:
                end = t + w
            else:
                diff[start] += 1
                diff[end] -= 1
                start, end = t, t + w
        diff[start] += 1
        diff[end] -= 1
    return np.cumsum(diff)[:n]


def fire(x, w, z_min, trail, sd_floor):
    """eval's rule on the series x (already summed over w s): z against the trailing values."""
    n = len(x)
    ts = np.arange(w + trail, n)
    if len(ts) == 0:
        return []
    px = np.concatenate([[0], np.cumsum(x)])
    pxx = np.concatenate([[0], np.cumsum(x * x)])
    a, b = ts - w - trail, ts - w
    mean = (px[b] - px[a]) / trail
    sd = np.sqrt(np.maximum((pxx[b] - pxx[a]) / trail - mean * mean, 0.0))
    z = (x[ts] - mean) / np.maximum(sd, sd_floor)
    out, until = [], -1
    for i in np.nonzero(z >= z_min)[0]:
        if ts[i] >= until:
            out.append((float(ts[i]), float(z[i])))
            until = ts[i] + COOLDOWN_S
    return out


def kept(dets, seconds):
    k = max(1, int(4.0 * seconds / 3600.0))
    return sorted(dets, key=lambda d: -d[1])[:k]


def score(streams, labels, kind, series, rule):
    """kimdoe: caught label-draws; dota2: (right, kept) detections. Also clips per hour."""
    hit, n, clips, hours = 0, 0, 0, 0.0
    for sid, (counts, _, ends, seconds) in streams.items():
        for d in range(counts.shape[0]):
            dets = fire(series(sid, d)[:ends[d]], *rule)
            clips += len(dets)
            hours += seconds / 3600.0
            keep = kept(dets, seconds)
            if kind == "points":
                for o in labels.get(sid, []):
                    n += 1
                    hit += any(o - 10 <= t <= o + 60 for t, _ in keep)
            else:
                for t, _ in keep:
                    n += 1
                    hit += any(s - 10 <= t <= e + 30 for s, e in labels.get(sid, []))
    return hit, n, clips / max(hours, 1e-9)


STATE = {}


def evaluate(task):
    what, w, z, floor, trail = task
    k, kl, d, dl = STATE["k"], STATE["kl"], STATE["d"], STATE["dl"]
    if what == "messages":
        def series(streams):
            return lambda sid, dr: window_counts(streams[sid][0][dr], w)
    else:
        def series(streams):
            cache = STATE.setdefault(("chatters", id(streams), w), {})

            def get(sid, dr):
                if (sid, dr) not in cache:
                    counts, users, _, _ = streams[sid]
                    cache[(sid, dr)] = distinct_chatters(users[dr], counts.shape[1], w)
                return cache[(sid, dr)]
            return get
    rule = (w, z, trail, floor)
    caught, labels, k_rate = score(k, kl, "points", series(k), rule)
    right, clips, d_rate = score(d, dl, "intervals", series(d), rule)
    return {"what": what, "w": w, "z": z, "floor": floor, "trail": trail, "caught": caught,
            "labels": labels, "k_rate": k_rate, "right": right, "kept": clips, "d_rate": d_rate}


def show(r):
    p = r["right"] / max(r["kept"], 1)
    return (f"{r['what']:9s} {r['w']:2d} s, z>={r['z']:<3g} sd>={r['floor']:<3g} trail {r['trail']:3d} s: "
            f"kimdoe {r['caught']}/{r['labels']} ({r['k_rate']:.2f} clips/h), "
            f"dota2 {p:.3f} ({r['right']}/{r['kept']}, {r['d_rate']:.2f} clips/h)")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--thin", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()

    STATE.update(k=load(a.data, "kimdoe", a.thin), kl=labels_of(a.data, "kimdoe"),
                 d=load(a.data, "dota2", a.thin), dl=labels_of(a.data, "dota2"))
    tasks = [("messages", w, z, 1.0, 300) for w, z in EVAL_RULES]
    tasks += [("messages", w, z, f, t) for w, z, f, t in itertools.product(
        (3, 5, 8, 10, 15, 20, 30), (2, 2.5, 3, 3.5, 4, 5, 6), (0.5, 1, 2), (300, 900))
        if not (f == 1.0 and t == 300 and (w, z) in EVAL_RULES)]
    tasks += [("chatters", w, z, f, 300) for w, z, f in itertools.product(
        (10, 20, 30), (2, 2.5, 3, 3.5, 4), (1, 1.5, 2))]
    with Pool(a.jobs) as pool:
        res = pool.map(evaluate, tasks, chunksize=4)

    nine = res[:len(EVAL_RULES)]
    k_bar = max(r["caught"] for r in nine)
    d_bar = max(r["right"] / max(r["kept"], 1) for r in nine)
    print(f"chat thinned to 1 chatter in {a.thin}, all {a.thin} draws pooled; "
          f"{len(res)} rules ({len(res) - len(EVAL_RULES)} beyond eval's nine)")
    print("\neval's nine rules (check against `clipper eval --rules --thin-draws`):")
    for r in nine:
        print("  " + show(r))
    print(f"\nbars: kimdoe {k_bar} caught (best of nine), dota2 {d_bar:.3f} (best of nine)")
    both = [r for r in res if r["caught"] >= k_bar and r["right"] / max(r["kept"], 1) >= d_bar]
    print(f"rules at or above both bars: {len(both)}")
    for r in both:
        print("  " + show(r))
    k_ok = sorted((r for r in res if r["caught"] >= k_bar),
                  key=lambda r: -r["right"] / max(r["kept"], 1))
    print("\nrules at or above kimdoe's bar, best dota2 precision first:")
    for r in k_ok[:a.top]:
        print("  " + show(r))
    d_ok = sorted((r for r in res if r["right"] / max(r["kept"], 1) >= d_bar and r["kept"] >= 20),
                  key=lambda r: -r["caught"])
    print("\nrules at or above dota2's bar (20 kept clips or more), most kimdoe labels first:")
    for r in d_ok[:a.top]:
        print("  " + show(r))


if __name__ == "__main__":
    main()
