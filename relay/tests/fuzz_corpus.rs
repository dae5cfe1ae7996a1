//! The fuzz corpora replayed as ordinary tests: every file of `infra/fuzz/corpus/<target>/`
//! (seeds and what the fuzzer found) through the harness of its target. The fuzz runs
//! themselves stay out of CI (`infra/fuzz/README.md`).

use std::path::Path;

#[test]
fn every_corpus_file_passes_its_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/fuzz/corpus");
    let mut counts = Vec::new();
    for (name, harness) in clipper_testkit::fuzz::TARGETS {
        let dir = root.join(name);
        let mut n = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let data = std::fs::read(&path).unwrap();
            harness(&data);
            n += 1;
        }
        assert!(n > 0, "no corpus for {name}");
        counts.push(format!("{name} {n}"));
    }
    println!("corpus files replayed: {}", counts.join(", "));
}
