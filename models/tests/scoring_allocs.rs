//! Scoring one window allocates nothing: [`Fitted::score`] (scaler into a stack buffer, forest on
//! an `ArrayView1` over it) and the forest's one-sample `predict`.
//!
//! Counted with `allocation-counter`, whose counting global allocator is linked only into this
//! test binary; it counts the current thread's allocations only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clipper_models::iforest::IsolationForest;
use clipper_models::model::{TrainingJob, FEATURE_NAMES};
use linfa::prelude::*;
use ndarray::{Array2, ArrayView1};

const D: usize = FEATURE_NAMES.len();

/// Deterministic rows with some spread, one constant feature.
fn rows(n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, D), |(i, j)| {
        if j == 3 {
            1.0
        } else {
            ((i * 31 + j * 17) % 97) as f64 / 10.0 - (j as f64)
        }
    })
}

#[test]
fn scoring_a_window_does_not_allocate() {
    let job = TrainingJob {
        rows: rows(600),
        params: IsolationForest::params().n_trees(50).seed(1),
    };
    let fitted = job.run().unwrap();
    let probes: Vec<[f64; D]> = (0..50)
        .map(|k| std::array::from_fn(|j| (k * 7 + j) as f64 / 3.0))
        .collect();

    let mut sink = 0.0;
    let info = allocation_counter::measure(|| {
        for x in &probes {
            sink += fitted.score(std::hint::black_box(x));
            let one: f64 = fitted
                .forest
                .predict(&ArrayView1::from(std::hint::black_box(x)));
            sink += one;
        }
    });
    assert!(sink.is_finite());
    assert_eq!(info.count_total, 0, "{info:?}");

    // The counter does see allocations (so the zero above means something).
    let info = allocation_counter::measure(|| {
        let batch: ndarray::Array1<f64> = fitted.forest.predict(&rows(3));
        std::hint::black_box(batch);
    });
    assert!(info.count_total >= 2, "{info:?}");
}
