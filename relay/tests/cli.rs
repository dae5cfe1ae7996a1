//! End-to-end tests of the `clipper` binary: replay, eval, synth, models dir, bad inputs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clipper_relay::eval::{load_labels, Labels};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A path from the workspace root.
fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn demo() -> PathBuf {
    repo("infra/demo/demo-stream.tsv")
}

fn demo_labels() -> PathBuf {
    repo("infra/demo/demo-stream.tsv.labels.csv")
}

/// Runs `clipper` with `args`, logging at the default level without colours.
fn clipper<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_clipper"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("run clipper")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// Asserts a non-zero exit whose stderr contains every one of `needles`.
fn assert_fails_with(o: &Output, needles: &[&str]) {
    assert!(
        !o.status.success(),
        "expected failure, got {:?}\nstderr:\n{}",
        o.status,
        stderr(o)
    );
    let err = stderr(o);
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

/// The clips `clipper replay --json` printed.
fn json_clips(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

fn point_labels(path: &Path, id: &str) -> Vec<f64> {
    match load_labels(path).unwrap() {
        Labels::Points(mut p) => p.remove(id).unwrap_or_default(),
        Labels::Intervals(_) => panic!("{} has interval labels", path.display()),
    }
}

/// `(messages, malformed)` from the summary line `replayed N file(s): M messages (K malformed
/// skipped), ...`.
fn replay_counts(err: &str) -> (u64, u64) {
    let line = err
        .lines()
        .find(|l| l.starts_with("replayed "))
        .unwrap_or_else(|| panic!("no summary line in:\n{err}"));
    let after = line.split_once("): ").unwrap().1;
    let mut words = after.split_whitespace();
    let messages = words.next().unwrap().parse().unwrap();
    let malformed = after
        .split_once('(')
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (messages, malformed)
}

#[test]
fn replay_json_finds_the_planted_moments_of_the_demo() {
    let o = clipper(["replay".as_ref(), "--json".as_ref(), demo().as_os_str()]);
    assert_ok(&o);
    let clips = json_clips(&o);
    assert!(clips.len() >= 3, "{} clips: {clips:#?}", clips.len());
    for c in &clips {
        let obj = c.as_object().unwrap();
        for key in ["channel", "source", "at", "score", "trigger"] {
            assert!(obj.contains_key(key), "{key} missing in {c}");
        }
        assert_eq!(c["channel"], "demo", "a TSV's channel is its directory");
        assert!(c["source"].as_str().unwrap().ends_with("demo-stream.tsv"));
        assert!(c["at"].is_number() && c["score"].is_number(), "{c}");
        assert!(!c["trigger"].as_str().unwrap().is_empty());
    }
    let at: Vec<f64> = clips.iter().map(|c| c["at"].as_f64().unwrap()).collect();
    let labels = point_labels(&demo_labels(), "demo-stream");
    assert!(labels.len() >= 4, "{labels:?}");
    let caught: Vec<f64> = labels
        .iter()
        .copied()
        .filter(|o| at.iter().any(|t| (o - 10.0..=o + 60.0).contains(t)))
        .collect();
    assert!(
        caught.len() * 2 > labels.len(),
        "most planted moments should get a clip within [o-10, o+60]: caught {caught:?} of \
         {labels:?} with clips at {at:?}"
    );
    let (messages, malformed) = replay_counts(&stderr(&o));
    assert!(messages > 10_000, "{messages}");
    assert_eq!(malformed, 0);
}

#[test]
fn models_dir_is_written_then_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let run = || {
        let o = clipper([
            "replay".as_ref(),
            "--models-dir".as_ref(),
            models.as_os_str(),
            demo().as_os_str(),
        ]);
        assert_ok(&o);
    };
    let read_model = || -> Value {
        let path = models.join("demo.clipper-model.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    };
    run();
    let first = read_model();
    assert_eq!(first["channel"], "demo");
    let seen_first = first["windows_seen"].as_u64().unwrap();
    assert!(seen_first > 0, "{}", first["windows_seen"]);
    run();
    // The second run continued from the saved model: it counts on from the first run's windows.
    let seen_second = read_model()["windows_seen"].as_u64().unwrap();
    assert!(
        seen_second >= seen_first + seen_first / 2,
        "model not carried over: {seen_first} then {seen_second} windows"
    );
}

#[test]
fn missing_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-chat.tsv");
    let o = clipper(["replay".as_ref(), missing.as_os_str()]);
    assert_fails_with(&o, &["cannot open", "no-such-chat.tsv"]);
}

#[test]
fn empty_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-chat.tsv");
    std::fs::write(&empty, "").unwrap();
    let o = clipper(["replay".as_ref(), empty.as_os_str()]);
    assert_fails_with(&o, &["empty-chat.tsv", "is empty"]);
    // Blank lines only are empty too.
    std::fs::write(&empty, "\n  \n\r\n").unwrap();
    let o = clipper(["replay".as_ref(), empty.as_os_str()]);
    assert_fails_with(&o, &["empty-chat.tsv", "is empty"]);
}

#[test]
fn unknown_format_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("notes.txt");
    std::fs::write(&odd, "dear diary,\ntoday chat was loud\n").unwrap();
    let o = clipper(["replay".as_ref(), odd.as_os_str()]);
    assert_fails_with(&o, &["notes.txt", "unknown chat log format", "dear diary"]);
}

#[test]
fn malformed_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chan").join("some-bad.tsv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = String::from("offset_s\tuser\tmessage\n");
    for i in 0..200 {
        text.push_str(&format!("{}\tu{}\thello {i}\n", i / 3, i % 17));
        if i % 50 == 7 {
            text.push_str("this line has no tabs\n");
        }
    }
    text.push_str("abc\tu1\tnot a time\n");
    text.push_str("5\t\tno user\n");
    text.push_str("\u{7}\u{7}\n");
    std::fs::write(&path, text).unwrap();
    let o = clipper(["replay".as_ref(), path.as_os_str()]);
    assert_ok(&o);
    let err = stderr(&o);
    assert_eq!(replay_counts(&err), (200, 7), "{err}");
    assert!(err.contains("(7 malformed skipped)"), "{err}");
    assert!(
        err.contains("some-bad.tsv"),
        "warnings name the file:\n{err}"
    );
}

/// The numbers of a text report's measure row (`R@4/h   0.75 (15/20)   0.55 (20 s, z≥2) ...`):
/// the shares, skipping counts and rule names.
fn row_values(out: &str, measure: &str) -> Vec<f64> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(measure))
        .unwrap_or_else(|| panic!("no {measure} row in:\n{out}"));
    line[measure.len()..]
        .split_whitespace()
        .filter_map(|x| x.parse::<f64>().ok())
        .collect()
}

#[test]
fn eval_prints_recall_lines() {
    let o = clipper([
        "eval".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        demo().as_os_str(),
    ]);
    assert_ok(&o);
    let out = stdout(&o);
    let labels = point_labels(&demo_labels(), "demo-stream");
    assert!(
        out.contains(&format!(
            "{} labels (hot-clip recall at a budget)",
            labels.len()
        )),
        "{out}"
    );
    assert!(
        out.contains("clipper") && out.contains("best of 9 rules") && out.contains("20 s, z≥2"),
        "{out}"
    );
    for m in [
        "R@2/h",
        "R@4/h",
        "R@8/h",
        "contain@4/h",
        "contained/caught@4/h",
    ] {
        // clipper, the best rule, the reference rule
        let v = row_values(&out, m);
        assert_eq!(v.len(), 3, "{m}: {v:?}\n{out}");
        assert!(v.iter().all(|r| (0.0..=1.0).contains(r)), "{m}: {v:?}");
        assert!(
            v[1] >= v[2],
            "the best rule is at least the reference: {m} {v:?}"
        );
    }
    assert!(
        !out.contains("5 s, z≥2  "),
        "no rule table without --rules:\n{out}"
    );

    let o = clipper([
        "eval".as_ref(),
        "--json".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        demo().as_os_str(),
    ]);
    assert_ok(&o);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["labels"], "points");
    assert_eq!(report["ours"]["labels"], labels.len());
    let r8 = report["ours"]["recall_at_8"].as_f64().unwrap();
    assert!(r8 > 0.5, "recall at 8 clips/h on the demo: {r8}");
    let rules = report["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 9);
    assert_eq!(report["baseline"], rules[6]["scores"]);
    assert_eq!(rules[6]["rule"], "20 s, z≥2");
    for key in ["contain_at_4", "contained_of_caught_at_4"] {
        assert!(report["ours"][key].as_f64().is_some(), "{key}");
    }
    let best = report["best"].as_array().unwrap();
    let r4 = best.iter().find(|b| b["measure"] == "recall_at_4").unwrap();
    let max = rules
        .iter()
        .map(|r| r["scores"]["recall_at_4"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(r4["best_rule"].as_f64().unwrap(), max);
    assert_eq!(r4["clipper"], report["ours"]["recall_at_4"]);
}

#[test]
fn eval_seeds_adds_the_forest_seed_spread() {
    let run = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec!["eval".into()];
        args.extend(extra.iter().map(Into::into));
        args.extend([
            "--labels".into(),
            demo_labels().into_os_string(),
            demo().into_os_string(),
        ]);
        clipper(args)
    };
    let o = run(&["--seeds", "3"]);
    assert_ok(&o);
    let out = stdout(&o);
    let seed = clipper_models::DetectorConfig::default().model.seed;
    assert!(
        out.contains(&format!("clipper over 3 forest seeds ({seed}, 1, 2):")),
        "{out}"
    );
    // The report is the first run's: its R@4/h is the first per-seed value of the spread.
    let report_r4 = row_values(&out, "R@4/h")[0];
    let spread_row = out
        .lines()
        .skip_while(|l| !l.starts_with("clipper over"))
        .find(|l| l.starts_with("R@4/h"))
        .unwrap_or_else(|| panic!("no spread row:\n{out}"));
    let v: Vec<f64> = spread_row
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // median, then the three seeds (the range is one token "a–b")
    assert_eq!(v.len(), 4, "{spread_row}");
    assert!(
        (v[1] - report_r4).abs() < 5e-3,
        "{spread_row} vs {report_r4}"
    );
    let (lo, hi) = (
        v[1..].iter().copied().fold(1.0, f64::min),
        v[1..].iter().copied().fold(0.0, f64::max),
    );
    assert!(
        lo <= v[0] && v[0] <= hi,
        "median inside the range: {spread_row}"
    );

    let o = run(&["--seeds", "3", "--json"]);
    assert_ok(&o);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let spread = &report["seed_spread"];
    assert_eq!(spread["seeds"], serde_json::json!([seed, 1, 2]));
    let r4 = spread["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "recall_at_4")
        .unwrap();
    assert_eq!(r4["values"][0], report["ours"]["recall_at_4"]);
    assert_eq!(r4["values"].as_array().unwrap().len(), 3);
    // Without --seeds the JSON has no spread.
    let o = run(&["--json"]);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(report.get("seed_spread").is_none());
    // A models dir would be written by every run: refused.
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["--seeds", "2", "--models-dir", dir.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--models-dir"));
}

#[test]
fn eval_rules_table_thin_and_ablate() {
    let o = clipper([
        "eval".as_ref(),
        "--rules".as_ref(),
        "--thin".as_ref(),
        "3".as_ref(),
        "--ablate".as_ref(),
        "content".as_ref(),
        "--ablate".as_ref(),
        "forest".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        demo().as_os_str(),
    ]);
    assert_ok(&o);
    let out = stdout(&o);
    let header = out.lines().next().unwrap();
    assert!(
        header.contains("thinned to 1 chatter in 3") && header.contains("ablated: forest, content"),
        "{header}"
    );
    for w in [5, 10, 20] {
        for z in [2, 3, 4] {
            let name = format!("{w} s, z≥{z}");
            let line = out
                .lines()
                .find(|l| l.starts_with(&name))
                .unwrap_or_else(|| panic!("no {name} row:\n{out}"));
            // clips/h and five measures
            assert_eq!(line[name.len()..].split_whitespace().count(), 6, "{line}");
        }
    }

    // Thinning is stable: the same run twice gives the same report; a thinner chat, another.
    let json = |thin: &str| {
        let o = clipper([
            "eval".as_ref(),
            "--json".as_ref(),
            "--thin".as_ref(),
            thin.as_ref(),
            "--labels".as_ref(),
            demo_labels().as_os_str(),
            demo().as_os_str(),
        ]);
        assert_ok(&o);
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()
    };
    let (a, b) = (json("4"), json("4"));
    assert_eq!(a, b);
    assert_eq!(a["thin"], 4);
    assert_ne!(
        a["rules"],
        json("1")["rules"],
        "thinning changes the rules' counts"
    );

    let o = clipper([
        "eval".as_ref(),
        "--ablate".as_ref(),
        "rules".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        demo().as_os_str(),
    ]);
    assert_fails_with(&o, &["rules"]);
    let o = clipper([
        "eval".as_ref(),
        "--thin".as_ref(),
        "0".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        demo().as_os_str(),
    ]);
    assert_fails_with(&o, &["--thin"]);
}

/// `--thin-draws` measures every draw of the thinning: the pooled counts are the sums of the
/// single draws' (`--thin-draw D`), every label is counted once per draw, and a draw outside
/// 0..N is refused.
#[test]
fn eval_thin_draws_pool_the_single_draws() {
    let json = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec!["eval".into(), "--json".into()];
        args.extend(extra.iter().map(Into::into));
        args.extend(["--labels".into(), demo_labels().into(), demo().into()]);
        let o = clipper(args);
        assert_ok(&o);
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()
    };
    let pooled = json(&["--thin", "3", "--thin-draws"]);
    assert_eq!(pooled["draws"], 3);
    let single: Vec<Value> = (0..3)
        .map(|d| json(&["--thin", "3", "--thin-draw", &d.to_string()]))
        .collect();
    assert_eq!(single[0], json(&["--thin", "3"]), "draw 0 is the default");
    let sum = |k: &str, rule: Option<usize>| -> u64 {
        single
            .iter()
            .map(|r| {
                let s = match rule {
                    Some(i) => &r["rules"][i]["scores"],
                    None => &r["ours"],
                };
                s[k].as_u64().unwrap()
            })
            .sum()
    };
    for k in ["caught_at_4", "labels", "contained_at_4"] {
        assert_eq!(pooled["ours"][k].as_u64().unwrap(), sum(k, None), "{k}");
        for i in 0..9 {
            assert_eq!(
                pooled["rules"][i]["scores"][k].as_u64().unwrap(),
                sum(k, Some(i)),
                "rule {i} {k}"
            );
        }
    }
    let whole = json(&[]);
    let labels = whole["ours"]["labels"].as_u64().unwrap();
    assert_eq!(pooled["ours"]["labels"].as_u64().unwrap(), 3 * labels);
    // The header counts the files and their hours once, not once per draw.
    assert_eq!(pooled["streams"], whole["streams"]);
    let hours = |r: &Value| r["hours"].as_f64().unwrap();
    assert!((hours(&pooled) - hours(&whole)).abs() < 1e-9);

    let o = clipper([
        "eval".as_ref(),
        "--thin".as_ref(),
        "3".as_ref(),
        "--thin-draw".as_ref(),
        "3".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        demo().as_os_str(),
    ]);
    assert_fails_with(&o, &["--thin-draw 3"]);
}

#[test]
fn replay_thin_is_stable_and_clips_carry_their_span() {
    let run = |thin: Option<&str>| {
        let mut args: Vec<std::ffi::OsString> = vec!["replay".into(), "--json".into()];
        if let Some(n) = thin {
            args.extend(["--thin".into(), n.into()]);
        }
        args.push(demo().into());
        let o = clipper(&args);
        assert_ok(&o);
        json_clips(&o)
    };
    let full = run(None);
    assert!(!full.is_empty());
    for c in &full {
        let (at, start, end) = (
            c["at"].as_f64().unwrap(),
            c["clip_start"].as_f64().unwrap(),
            c["clip_end"].as_f64().unwrap(),
        );
        assert!(start < end && end > at && end - start <= 60.0, "{c}");
    }
    let thin = run(Some("3"));
    assert_eq!(thin, run(Some("3")), "the same chatters every run");
    assert_ne!(thin, full);
}

fn spikes_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spikes.jsonl")
}

#[test]
fn eval_spikes_reports_auc_beside_the_rules() {
    let o = clipper([
        "eval".as_ref(),
        "--spikes".as_ref(),
        spikes_fixture().as_os_str(),
    ]);
    assert_ok(&o);
    let out = stdout(&o);
    assert!(
        out.starts_with("10 spikes in 2 videos, 3 clip-worthy (binary = 1)"),
        "{out}"
    );
    let auc = |prefix: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line:\n{out}"));
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    // The hype spikes of the fixture are also its busiest: the rules rank them first.
    assert_eq!(auc("best rule (max messages in"), 1.0, "{out}");
    let ours = auc("clipper (max combined score)");
    assert!((0.0..=1.0).contains(&ours), "{out}");
    assert!(out.contains("rules: 5 s "), "{out}");
    let o = clipper([
        "eval".as_ref(),
        "--seeds".as_ref(),
        "2".as_ref(),
        "--spikes".as_ref(),
        spikes_fixture().as_os_str(),
    ]);
    assert_ok(&o);
    let out2 = stdout(&o);
    let row = out2
        .lines()
        .skip_while(|l| !l.starts_with("clipper over 2 forest seeds"))
        .find(|l| l.starts_with("AUC"))
        .unwrap_or_else(|| panic!("no AUC spread row:\n{out2}"));
    let first: f64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!((first - ours).abs() < 5e-4, "{row} vs {ours}");

    let json = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec!["eval".into(), "--json".into()];
        args.extend(extra.iter().map(Into::into));
        args.extend(["--spikes".into(), spikes_fixture().into()]);
        let o = clipper(&args);
        assert_ok(&o);
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()
    };
    let full = json(&[]);
    assert_eq!(full["spikes"], 10);
    assert_eq!(full["positives"], 3);
    assert_eq!(full["rules"].as_array().unwrap().len(), 3);
    assert_eq!(full["clipper_auc"].as_f64().unwrap(), ours);
    let total = full["messages"].as_u64().unwrap();
    let thin = json(&["--thin", "2"]);
    let kept = thin["messages"].as_u64().unwrap();
    assert!(
        kept > total / 4 && kept < total * 3 / 4,
        "{kept} of {total}"
    );
    assert_eq!(thin, json(&["--thin", "2"]));
    let ablated = json(&["--ablate", "activity"]);
    assert_eq!(ablated["ablated"], serde_json::json!(["activity"]));

    // --spikes stands alone.
    let o = clipper([
        "eval".as_ref(),
        "--spikes".as_ref(),
        spikes_fixture().as_os_str(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
    ]);
    assert_fails_with(&o, &["--spikes"]);
}

#[test]
fn eval_chart_dir_writes_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    let charts = dir.path().join("charts");
    let o = clipper([
        "eval".as_ref(),
        "--labels".as_ref(),
        demo_labels().as_os_str(),
        "--chart-dir".as_ref(),
        charts.as_os_str(),
        demo().as_os_str(),
    ]);
    assert_ok(&o);
    let svg = charts.join("demo-stream.svg");
    let text = std::fs::read_to_string(&svg).unwrap_or_else(|e| panic!("{}: {e}", svg.display()));
    assert!(text.contains("<svg"), "{}", &text[..text.len().min(200)]);
    assert!(text.len() > 1_000);
}

#[test]
fn irc_fixture_replays() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/irc_sample.log");
    let o = clipper(["replay".as_ref(), "--json".as_ref(), fixture.as_os_str()]);
    assert_ok(&o);
    let (messages, _) = replay_counts(&stderr(&o));
    assert!(messages >= 5, "{}", stderr(&o));
    for c in json_clips(&o) {
        assert_eq!(c["channel"], "pixelbard", "{c}");
    }
}

#[test]
fn synth_regenerates_the_committed_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-stream.tsv");
    let o = clipper([
        "synth".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--seed".as_ref(),
        "7".as_ref(),
    ]);
    assert_ok(&o);
    let fresh = std::fs::read(&out).unwrap();
    let committed = std::fs::read(demo()).unwrap();
    assert!(
        fresh == committed,
        "infra/demo/demo-stream.tsv is not what `clipper synth --seed 7` makes now; regenerate it \
         (see infra/demo/README.md)"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("demo-stream.tsv.labels.csv")).unwrap(),
        std::fs::read_to_string(demo_labels()).unwrap()
    );
    assert!(committed.len() < 1_000_000, "{} bytes", committed.len());
}

#[test]
fn synth_irc_is_deterministic_and_replays_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str| {
        let out = dir.path().join(name);
        let o = clipper([
            "synth".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--format".as_ref(),
            "irc".as_ref(),
            "--minutes".as_ref(),
            "25".as_ref(),
            "--seed".as_ref(),
            "3".as_ref(),
            "--rate".as_ref(),
            "4".as_ref(),
        ]);
        assert_ok(&o);
        out
    };
    let a = make("a.log");
    let b = make("b.log");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let labels = point_labels(&clipper_relay::synth::labels_path(&a), "a");
    assert!((1..=2).contains(&labels.len()), "{labels:?}");

    let o = clipper(["replay".as_ref(), "--json".as_ref(), a.as_os_str()]);
    assert_ok(&o);
    let (messages, malformed) = replay_counts(&stderr(&o));
    assert_eq!(malformed, 0);
    // About 4 messages/s for 25 minutes, plus the bursts.
    assert!((5_000..9_000).contains(&messages), "{messages}");
    let clips = json_clips(&o);
    assert!(!clips.is_empty());
    assert!(clips.iter().all(|c| c["channel"] == "synthbard"));
}

#[test]
fn synth_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.tsv");
    let o = clipper([
        "synth".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--rate".as_ref(),
        "0".as_ref(),
    ]);
    assert_fails_with(&o, &["--rate"]);
    assert!(!out.exists());
    let o = clipper([
        "synth".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_fails_with(&o, &["csv"]);
}

/// Optional: the real dota2 logs next to the workspace (`../shared/data/dota2`), skipped when
/// they are not there (a fresh clone elsewhere).
#[test]
fn eval_on_real_dota2_logs_when_present() {
    let dir = repo("../shared/data/dota2");
    let labels = dir.join("labels.csv");
    if !labels.is_file() {
        eprintln!("skipping: {} not found", labels.display());
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut args: Vec<std::ffi::OsString> = vec!["eval".into(), "--labels".into(), labels.into()];
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    let o = clipper(&args);
    assert_ok(&o);
    let out = stdout(&o);
    assert!(out.contains(&format!("{} streams", files.len())), "{out}");
    assert!(
        out.contains("highlight intervals") && out.contains("chance"),
        "{out}"
    );
}

/// `clipper channels set NAME --notify … --notify-clear --webhook URL` (issue 13): targets are
/// validated, stored in full, listed redacted.
#[test]
fn channels_set_notify_targets_stores_them_and_lists_them_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.json");
    let f = file.to_str().unwrap();
    assert_ok(&clipper(["channels", "--file", f, "add", "hypechan"]));
    let o = clipper([
        "channels",
        "--file",
        f,
        "set",
        "hypechan",
        "--notify",
        "discord:https://discord.com/api/webhooks/1/SECRETTOKEN",
        "--notify",
        "slack:https://hooks.slack.com/services/T/B/SECRETTOKEN",
        "--notify",
        "email:ops@example.com",
        "--notify",
        "sms:+14155550123",
        "--webhook",
        "https://hooks.slack.com/services/T/B/OTHERSECRET",
        "--notify-failures",
        "true",
    ]);
    assert_ok(&o);
    assert!(!stdout(&o).contains("SECRET"), "{}", stdout(&o));
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored[0]["notify"].as_array().unwrap().len(), 4);
    assert_eq!(stored[0]["notify_failures"], true);
    assert_eq!(
        stored[0]["notify"][0],
        "discord:https://discord.com/api/webhooks/1/SECRETTOKEN"
    );
    let l = clipper(["channels", "--file", f, "list"]);
    assert_ok(&l);
    let out = stdout(&l);
    assert!(!out.contains("SECRET"), "{out}");
    assert!(out.contains("discord:https://discord.com/"), "{out}");
    assert!(out.contains("sms:+…23"), "{out}");
    // Plain http (not loopback) and bad numbers are refused without echoing the URL.
    let bad = clipper([
        "channels",
        "--file",
        f,
        "set",
        "hypechan",
        "--notify",
        "discord:http://discord.com/api/webhooks/1/SECRETTOKEN",
    ]);
    assert_fails_with(&bad, &["only https"]);
    assert!(!stderr(&bad).contains("SECRET"));
    assert_fails_with(
        &clipper([
            "channels", "--file", f, "set", "hypechan", "--notify", "sms:555",
        ]),
        &["E.164"],
    );
    assert_ok(&clipper([
        "channels",
        "--file",
        f,
        "set",
        "hypechan",
        "--notify-clear",
    ]));
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(stored[0].get("notify").is_none(), "{stored}");
    assert!(stored[0]["webhook_url"].is_string(), "--webhook still kept");
}
