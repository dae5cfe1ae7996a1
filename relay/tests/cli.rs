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
    assert!(out.contains("R@2/h") && out.contains("R@4/h") && out.contains("R@8/h"));
    for name in ["clipper", "z-score baseline"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in:\n{out}"));
        let numbers: Vec<f64> = line[name.len()..]
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), 4, "{line}");
        assert!(
            numbers[1..].iter().all(|r| (0.0..=1.0).contains(r)),
            "{line}"
        );
    }

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
