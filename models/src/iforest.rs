//! Isolation Forest (Liu, Ting & Zhou, 2008), scored like scikit-learn's `IsolationForest`.
//!
//! # Algorithm
//!
//! Each of the `n_trees` trees is grown on ψ = min(`max_samples`, n) training rows drawn
//! *without* replacement. A node becomes a leaf when it holds fewer than two samples, when it
//! reaches the depth limit ⌈log₂ ψ⌉, or when every feature is constant on its samples.
//! Otherwise a feature is drawn uniformly among the features that are not constant at the node
//! and a threshold uniformly in `[min, max)` of that feature over the node's samples; samples with
//! `x[feature] <= threshold` go left. This is what scikit-learn's `ExtraTreeRegressor`
//! (`splitter="random"`, `max_features=1`) does inside `IsolationForest`, except that
//! scikit-learn treats a feature as constant when `max - min <= 1e-7` (its float32-oriented
//! `FEATURE_THRESHOLD`) where this implementation requires `max > min`, so features of any scale
//! can be split.
//!
//! The path length of a sample in a tree is the depth of the leaf it falls into plus
//! [`average_path_length`]`(n_leaf)`, where `n_leaf` is the number of training samples in that
//! leaf. The anomaly score is
//!
//! ```text
//! s(x) = 2^( -E[h(x)] / c(ψ) )
//! ```
//!
//! with `E[h(x)]` the mean path length over the trees and `c` = [`average_path_length`]. It lies
//! in `(0, 1)`; **higher means more anomalous**, around 0.5 or below means normal.
//! scikit-learn's `IsolationForest.score_samples` returns `-s(x)` and its `decision_function`
//! (with `contamination="auto"`) returns `0.5 - s(x)`.
//!
//! Fitting is deterministic given [`IsolationForestParams::seed`]: every tree gets its own
//! ChaCha8 stream seeded from a master ChaCha8 generator, so a tree depends only on the seed and
//! its index. The random streams differ from scikit-learn's, so individual trees differ, but the
//! scores agree in distribution (see `tests/iforest_sklearn.rs`).
//!
//! # linfa and ndarray
//!
//! linfa has no Isolation Forest, so this one implements linfa's traits over ndarray, as linfa's
//! own algorithms do:
//!
//! * [`IsolationForestParams`] (unchecked, builder methods) implements linfa's [`ParamGuard`];
//!   checking yields [`IsolationForestValidParams`], errors are [`ModelsError`] (which wraps
//!   `linfa::Error`, as linfa's [`Fit`] requires of an error type);
//! * [`IsolationForestValidParams`] implements [`Fit`] on a [`DatasetBase`] whose records are an
//!   `Array2<f64>` or an `ArrayView2<f64>` (rows = samples; targets are ignored), and linfa's
//!   blanket impl lets the unchecked params fit directly, checking first;
//! * [`IsolationForest`] implements [`PredictInplace`] for a batch (`Array2<f64>` or a view, to
//!   an `Array1<f64>` of scores) and for one sample (an `Array1<f64>` or `ArrayView1<f64>`, to an
//!   `f64`); linfa's blanket impls turn both into `predict`. Scoring one sample does not allocate,
//!   so a view over a stack buffer scores a window with no allocation at all.
//!
//! # Example
//!
//! ```
//! use clipper_models::iforest::IsolationForest;
//! use linfa::prelude::*;
//! use ndarray::{array, Array1, Array2};
//!
//! # fn main() -> clipper_models::Result<()> {
//! let records = Array2::from_shape_fn((200, 2), |(i, j)| ((i % (10 - 3 * j)) as f64));
//! let train = DatasetBase::from(records.view());
//! let forest = IsolationForest::params().n_trees(50).seed(7).fit(&train)?;
//! let inlier: f64 = forest.predict(&array![4.0, 3.0]);
//! let outlier: f64 = forest.predict(&array![100.0, -50.0].view());
//! assert!(outlier > inlier);
//! let scores: Array1<f64> = forest.predict(&records);
//! assert_eq!(scores.len(), 200);
//! # Ok(())
//! # }
//! ```

use std::fmt;

use rand::seq::index;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize, Serializer};

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, ArrayBase, ArrayView1, ArrayView2, Data, Ix1, Ix2};

use crate::error::{ModelsError, Result};

/// Euler–Mascheroni constant (`numpy.euler_gamma`).
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Largest subsample size: keeps every node index of a tree (at most 2ψ − 1 nodes) in a `u32`.
const MAX_SUBSAMPLE: usize = (u32::MAX / 2) as usize;

/// Average path length `c(n)` of an unsuccessful search in a binary search tree of `n` nodes,
/// the normalisation of the Isolation Forest.
///
/// `c(n) = 2 H(n − 1) − 2 (n − 1) / n` for `n > 2`, with `H(i) = ln i + γ` (Euler's constant
/// γ); `c(2) = 1`; `c(0) = c(1) = 0`. Same as scikit-learn's `_average_path_length`.
#[must_use]
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            // Exact for n < 2^53, far beyond any subsample size.
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

/// Default number of trees.
pub const DEFAULT_N_TREES: usize = 100;
/// Default subsample size per tree (ψ before capping at the training set size).
pub const DEFAULT_MAX_SAMPLES: usize = 256;
/// Default seed.
pub const DEFAULT_SEED: u64 = 0;

/// Checked Isolation Forest parameters, obtained with linfa's [`ParamGuard::check`] from
/// [`IsolationForestParams`]. Deserialising them validates them too. They implement [`Fit`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawParams", into = "RawParams")]
pub struct IsolationForestValidParams {
    n_trees: usize,
    max_samples: usize,
    seed: u64,
}

impl IsolationForestValidParams {
    /// Number of trees (at least 1).
    #[must_use]
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// Subsample size per tree before capping at the training set size (at least 2).
    #[must_use]
    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// Master seed of the random generator.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn validate(&self) -> Result<()> {
        if self.n_trees == 0 {
            return Err(ModelsError::InvalidParams {
                name: "n_trees",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.max_samples < 2 {
            return Err(ModelsError::InvalidParams {
                name: "max_samples",
                reason: format!("must be at least 2, got {}", self.max_samples),
            });
        }
        Ok(())
    }
}

/// Unchecked Isolation Forest parameters with builder methods.
///
/// Defaults: `n_trees = 100`, `max_samples = 256`, `seed = 0` (scikit-learn's defaults apart
/// from the seed). Validate with [`ParamGuard::check`], or fit directly: [`Fit`] checks first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawParams", into = "RawParams")]
pub struct IsolationForestParams(IsolationForestValidParams);

impl IsolationForestParams {
    /// Default parameters.
    #[must_use]
    pub fn new() -> Self {
        Self(IsolationForestValidParams {
            n_trees: DEFAULT_N_TREES,
            max_samples: DEFAULT_MAX_SAMPLES,
            seed: DEFAULT_SEED,
        })
    }

    /// Sets the number of trees (must be at least 1).
    #[must_use]
    pub fn n_trees(mut self, n_trees: usize) -> Self {
        self.0.n_trees = n_trees;
        self
    }

    /// Sets the subsample size per tree (must be at least 2); each tree is grown on
    /// ψ = min(`max_samples`, n) rows drawn without replacement.
    #[must_use]
    pub fn max_samples(mut self, max_samples: usize) -> Self {
        self.0.max_samples = max_samples;
        self
    }

    /// Sets the master seed; a fitted forest is a pure function of the parameters and the data.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        Self::new()
    }
}

impl ParamGuard for IsolationForestParams {
    type Checked = IsolationForestValidParams;
    type Error = ModelsError;

    /// # Errors
    /// [`ModelsError::InvalidParams`] naming the first offending parameter.
    fn check_ref(&self) -> Result<&Self::Checked> {
        self.0.validate()?;
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked> {
        self.0.validate()?;
        Ok(self.0)
    }
}

/// Serde form of both parameter types; missing fields take their defaults.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawParams {
    n_trees: usize,
    max_samples: usize,
    seed: u64,
}

impl Default for RawParams {
    fn default() -> Self {
        IsolationForestParams::new().into()
    }
}

impl From<RawParams> for IsolationForestParams {
    fn from(raw: RawParams) -> Self {
        Self(IsolationForestValidParams {
            n_trees: raw.n_trees,
            max_samples: raw.max_samples,
            seed: raw.seed,
        })
    }
}

impl From<IsolationForestParams> for RawParams {
    fn from(params: IsolationForestParams) -> Self {
        params.0.into()
    }
}

impl From<IsolationForestValidParams> for RawParams {
    fn from(p: IsolationForestValidParams) -> Self {
        Self {
            n_trees: p.n_trees,
            max_samples: p.max_samples,
            seed: p.seed,
        }
    }
}

impl TryFrom<RawParams> for IsolationForestValidParams {
    type Error = ModelsError;

    fn try_from(raw: RawParams) -> Result<Self> {
        IsolationForestParams::from(raw).check()
    }
}

// ---------------------------------------------------------------------------------------------
// Trees
// ---------------------------------------------------------------------------------------------

/// One node of a flat tree.
///
/// `left == 0` marks a leaf (the root, index 0, is nobody's child) whose `value` is the whole
/// path length `depth + c(n_leaf)`. Otherwise `value` is the threshold, the left child is at
/// `left` and the right child at `left + 1`; children always come after their parent.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    feature: u32,
    left: u32,
    value: f64,
}

impl Node {
    const fn leaf(path_length: f64) -> Self {
        Self {
            feature: 0,
            left: 0,
            value: path_length,
        }
    }
}

/// An isolation tree stored as a flat array, root first.
#[derive(Clone, Debug, PartialEq)]
struct Tree {
    nodes: Vec<Node>,
    /// The deepest leaf's depth (edges from the root): a walk ends within this many steps.
    depth: usize,
}

impl Tree {
    /// A tree of `nodes` whose children come after their parent.
    fn new(nodes: Vec<Node>) -> Self {
        let mut depths = vec![0usize; nodes.len()];
        let mut depth = 0;
        for (i, node) in nodes.iter().enumerate() {
            let d = depths.get(i).copied().unwrap_or(0);
            depth = depth.max(d);
            if node.left != 0 {
                for child in [node.left as usize, node.left as usize + 1] {
                    if let Some(c) = depths.get_mut(child) {
                        *c = d + 1;
                    }
                }
            }
        }
        Tree { nodes, depth }
    }

    /// Path length of the sample whose feature `j` is `x(j)` (depth of its leaf plus
    /// `c(n_leaf)`).
    ///
    /// Children come after their parent (checked on deserialisation), so the walk ends. A
    /// missing feature (`x` returns `NaN`) or a `NaN` value compares false and goes right.
    #[inline]
    fn path_length(&self, x: impl Fn(usize) -> f64) -> f64 {
        let mut i = 0usize;
        while let Some(node) = self.nodes.get(i) {
            if node.left == 0 {
                return node.value;
            }
            let go_left = x(node.feature as usize) <= node.value;
            i = node.left as usize + usize::from(!go_left);
        }
        f64::NAN
    }
}

/// Path lengths of `N` walks at once, walk `k` being sample `rows[k]` through `trees[k]`:
/// each is [`Tree::path_length`] of its sample. The walks advance in lockstep for as many
/// steps as the deepest tree needs, a walk at its leaf staying there (a select, not a
/// branch), so the node loads of independent walks overlap instead of waiting on each other.
/// A missing feature (`NaN`) goes right, as in [`Tree::path_length`].
#[inline]
fn path_lengths<const N: usize>(trees: [&Tree; N], rows: [&[f64]; N]) -> [f64; N] {
    let steps = trees.iter().map(|t| t.depth).max().unwrap_or(0);
    let mut at = [0usize; N];
    for _ in 0..steps {
        for k in 0..N {
            if let Some(node) = trees[k].nodes.get(at[k]) {
                let v = rows[k]
                    .get(node.feature as usize)
                    .copied()
                    .unwrap_or(f64::NAN);
                let go_left = v <= node.value;
                let next = node.left as usize + usize::from(!go_left);
                at[k] = if node.left == 0 { at[k] } else { next };
            }
        }
    }
    let mut out = [f64::NAN; N];
    for k in 0..N {
        if let Some(node) = trees[k].nodes.get(at[k]) {
            if node.left == 0 {
                out[k] = node.value;
            }
        }
    }
    out
}

/// Serde form of a tree: three parallel arrays (leaves have `left == 0` and `feature == 0`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TreeRepr {
    feature: Vec<u32>,
    left: Vec<u32>,
    value: Vec<f64>,
}

impl From<&Tree> for TreeRepr {
    fn from(tree: &Tree) -> Self {
        Self {
            feature: tree.nodes.iter().map(|n| n.feature).collect(),
            left: tree.nodes.iter().map(|n| n.left).collect(),
            value: tree.nodes.iter().map(|n| n.value).collect(),
        }
    }
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        TreeRepr::from(self).serialize(serializer)
    }
}

impl TreeRepr {
    /// Rebuilds a tree, checking every invariant that [`Tree::path_length`] relies on.
    fn into_tree(self, n_features: usize) -> Result<Tree> {
        let len = self.feature.len();
        if len == 0 || self.left.len() != len || self.value.len() != len {
            return Err(ModelsError::Inconsistent(format!(
                "tree arrays must be non-empty and of equal length, got {}, {}, {}",
                len,
                self.left.len(),
                self.value.len()
            )));
        }
        let nodes: Vec<Node> = self
            .feature
            .iter()
            .zip(&self.left)
            .zip(&self.value)
            .map(|((&feature, &left), &value)| Node {
                feature,
                left,
                value,
            })
            .collect();
        for (i, node) in nodes.iter().enumerate() {
            let bad = |what: &str| {
                Err(ModelsError::Inconsistent(format!(
                    "tree node {i}: {what} ({node:?})"
                )))
            };
            if node.left == 0 {
                if !(node.value.is_finite() && node.value >= 0.0) {
                    return bad("leaf path length must be finite and non-negative");
                }
            } else {
                let left = node.left as usize;
                if left <= i || left + 1 >= len {
                    return bad("children must come after their parent and exist");
                }
                if node.feature as usize >= n_features {
                    return bad("feature index out of range");
                }
                if !node.value.is_finite() {
                    return bad("threshold must be finite");
                }
            }
        }
        Ok(Tree::new(nodes))
    }
}

/// Grows the trees of one forest.
struct TreeBuilder<'a> {
    /// Training samples, one per row.
    records: ArrayView2<'a, f64>,
    /// The current tree's subsample gathered column by column (`cols[j * psi + i]` is feature
    /// `j` of the tree's `i`-th sample): a tree's splits then read a few KB that stay in cache
    /// instead of striding over the whole training array. The trees are the same.
    cols: Vec<f64>,
    /// The current tree's subsample size (the length of each column in `cols`).
    psi: usize,
    max_depth: usize,
    /// Feature indices, permuted in place while drawing features without replacement.
    features: Vec<usize>,
    stack: Vec<Pending>,
}

/// A node waiting to be grown, over `samples[start..end]`.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
}

impl TreeBuilder<'_> {
    /// Grows one tree on the row indices `samples`.
    fn grow(&mut self, rng: &mut ChaCha8Rng, samples: &mut [usize]) -> Tree {
        self.psi = samples.len();
        self.cols.clear();
        for j in 0..self.records.ncols() {
            let column = self.records.column(j);
            self.cols.extend(samples.iter().map(|&r| column[r]));
        }
        // From here on a sample is its position in the subsample (reordered in place).
        for (i, s) in samples.iter_mut().enumerate() {
            *s = i;
        }
        let mut nodes = vec![Node::leaf(0.0)];
        self.stack.clear();
        self.stack.push(Pending {
            node: 0,
            start: 0,
            end: samples.len(),
            depth: 0,
        });
        while let Some(p) = self.stack.pop() {
            let node_samples = &mut samples[p.start..p.end];
            let split = if p.depth >= self.max_depth || node_samples.len() < 2 {
                None
            } else {
                self.draw_split(rng, node_samples)
            };
            match split {
                None => {
                    nodes[p.node] =
                        Node::leaf(p.depth as f64 + average_path_length(node_samples.len()));
                }
                Some((feature, threshold)) => {
                    let column = self.column(feature);
                    let n_left = partition(node_samples, |r| column[r] <= threshold);
                    let left = nodes.len();
                    nodes.push(Node::leaf(0.0));
                    nodes.push(Node::leaf(0.0));
                    // Both casts are lossless: fit checks n_features and ψ against u32.
                    nodes[p.node] = Node {
                        feature: feature as u32,
                        left: left as u32,
                        value: threshold,
                    };
                    let mid = p.start + n_left;
                    self.stack.push(Pending {
                        node: left + 1,
                        start: mid,
                        end: p.end,
                        depth: p.depth + 1,
                    });
                    self.stack.push(Pending {
                        node: left,
                        start: p.start,
                        end: mid,
                        depth: p.depth + 1,
                    });
                }
            }
        }
        Tree::new(nodes)
    }

    /// Draws a split for a node, or `None` when every feature is constant on its samples.
    ///
    /// Features are drawn without replacement until a non-constant one turns up, as
    /// scikit-learn's random splitter does with `max_features=1`; the first non-constant feature
    /// of a uniform random permutation is uniform among the non-constant features.
    fn draw_split(&mut self, rng: &mut ChaCha8Rng, samples: &[usize]) -> Option<(usize, f64)> {
        let mut remaining = self.features.len();
        while remaining > 0 {
            let j = rng.random_range(0..remaining);
            let feature = self.features[j];
            let (lo, hi) = self.min_max(samples, feature);
            if hi > lo {
                return Some((feature, draw_threshold(rng, lo, hi)));
            }
            remaining -= 1;
            self.features.swap(j, remaining);
        }
        None
    }

    /// Feature `j` of the current tree's subsample.
    fn column(&self, j: usize) -> &[f64] {
        &self.cols[j * self.psi..(j + 1) * self.psi]
    }

    fn min_max(&self, samples: &[usize], feature: usize) -> (f64, f64) {
        // Training values are finite (checked at fit), so plain comparisons give what
        // `f64::min`/`max` would, without their NaN handling in this innermost loop.
        let column = self.column(feature);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &r in samples {
            let v = column[r];
            if v < lo {
                lo = v;
            }
            if v > hi {
                hi = v;
            }
        }
        (lo, hi)
    }
}

/// Uniform threshold in `[lo, hi)` for finite `lo < hi` (scikit-learn maps a draw that rounds
/// to `hi` back to `lo`; so do we). Both sides of the split are then non-empty.
fn draw_threshold(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let u: f64 = rng.random();
    let span = hi - lo;
    let t = if span.is_finite() {
        lo + u * span
    } else {
        // `hi - lo` overflowed: interpolate without forming the span.
        lo * (1.0 - u) + hi * u
    };
    if t >= lo && t < hi {
        t
    } else {
        lo
    }
}

/// Moves the samples for which `goes_left` holds to the front; returns how many there are.
fn partition(samples: &mut [usize], mut goes_left: impl FnMut(usize) -> bool) -> usize {
    let mut n_left = 0;
    for i in 0..samples.len() {
        if goes_left(samples[i]) {
            samples.swap(i, n_left);
            n_left += 1;
        }
    }
    n_left
}

// ---------------------------------------------------------------------------------------------
// Forest
// ---------------------------------------------------------------------------------------------

/// A fitted Isolation Forest.
///
/// Score with linfa's `predict` (from the [`PredictInplace`] impls): one sample, an
/// `Array1<f64>` or `ArrayView1<f64>`, gives an `f64` (infallible, allocation-free; `NaN` for a
/// sample of the wrong dimension); a batch, an `Array2<f64>` or `ArrayView2<f64>` with one sample
/// per row, gives an `Array1<f64>`. [`IsolationForest::score`] is the checked one-sample version
/// over a slice. Scores are in `(0, 1)`, higher = more anomalous; see the [module docs](self) for
/// the exact definition and the relation to scikit-learn.
///
/// Serialises as `{ "n_features", "max_samples", "trees": [{ "feature", "left", "value" }] }`;
/// deserialisation validates the trees, so a decoded forest never panics or loops.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ForestRepr")]
pub struct IsolationForest {
    n_features: usize,
    /// ψ, the subsample size actually used: min(`max_samples`, n).
    max_samples: usize,
    trees: Vec<Tree>,
    /// `n_trees * c(ψ)`, the normaliser of the summed path lengths.
    #[serde(skip)]
    denominator: f64,
}

/// Serde form of [`IsolationForest`], validated on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForestRepr {
    n_features: usize,
    max_samples: usize,
    trees: Vec<TreeRepr>,
}

impl TryFrom<ForestRepr> for IsolationForest {
    type Error = ModelsError;

    fn try_from(repr: ForestRepr) -> Result<Self> {
        if repr.n_features == 0 || u32::try_from(repr.n_features).is_err() {
            return Err(ModelsError::Inconsistent(format!(
                "n_features must be in 1..=u32::MAX, got {}",
                repr.n_features
            )));
        }
        if repr.max_samples == 0 {
            return Err(ModelsError::Inconsistent(
                "max_samples must be at least 1".to_owned(),
            ));
        }
        if repr.trees.is_empty() {
            return Err(ModelsError::Inconsistent("forest has no trees".to_owned()));
        }
        let trees = repr
            .trees
            .into_iter()
            .map(|t| t.into_tree(repr.n_features))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_trees(repr.n_features, repr.max_samples, trees))
    }
}

impl fmt::Debug for IsolationForest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsolationForest")
            .field("n_features", &self.n_features)
            .field("max_samples", &self.max_samples)
            .field("n_trees", &self.trees.len())
            .field(
                "n_nodes",
                &self.trees.iter().map(|t| t.nodes.len()).sum::<usize>(),
            )
            .finish()
    }
}

impl IsolationForest {
    /// Default (unchecked) parameters, to be adjusted with the builder methods.
    #[must_use]
    pub fn params() -> IsolationForestParams {
        IsolationForestParams::new()
    }

    fn from_trees(n_features: usize, max_samples: usize, trees: Vec<Tree>) -> Self {
        let denominator = trees.len() as f64 * average_path_length(max_samples);
        Self {
            n_features,
            max_samples,
            trees,
            denominator,
        }
    }

    /// Number of features (dimension) the forest was fitted on.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    #[must_use]
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// ψ, the subsample size each tree was grown on: min(`max_samples`, n).
    #[must_use]
    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// Anomaly score of one sample, in `(0, 1)`, higher = more anomalous.
    ///
    /// # Errors
    /// [`ModelsError::DimensionMismatch`] when `x.len()` differs from [`Self::n_features`].
    pub fn score(&self, x: &[f64]) -> Result<f64> {
        if x.len() != self.n_features {
            return Err(ModelsError::DimensionMismatch {
                expected: self.n_features,
                got: x.len(),
            });
        }
        Ok(self.score_with(|j| x.get(j).copied().unwrap_or(f64::NAN)))
    }

    /// Score of one sample, `NaN` for the wrong dimension. A contiguous sample is walked as a
    /// slice (the common case: a row of a standard-layout array, a view over a buffer).
    #[inline]
    fn score_sample(&self, x: ArrayView1<'_, f64>) -> f64 {
        if x.len() != self.n_features {
            return f64::NAN;
        }
        match x.as_slice() {
            Some(s) => self.score_slice(s),
            None => self.score_with(|j| x.get(j).copied().unwrap_or(f64::NAN)),
        }
    }

    /// [`Self::score_with`] of a contiguous sample: four trees walked at once
    /// ([`path_lengths`]), the path lengths summed in tree order (the same sum).
    #[inline]
    fn score_slice(&self, s: &[f64]) -> f64 {
        let mut total = -0.0f64;
        let mut chunks = self.trees.chunks_exact(4);
        for four in &mut chunks {
            if let [a, b, c, d] = four {
                for v in path_lengths([a, b, c, d], [s; 4]) {
                    total += v;
                }
            }
        }
        for t in chunks.remainder() {
            total += t.path_length(|j| s.get(j).copied().unwrap_or(f64::NAN));
        }
        self.score_of_total(total)
    }

    /// Score of the sample whose feature `j` is `x(j)`, known to have the right dimension.
    #[inline]
    fn score_with(&self, x: impl Fn(usize) -> f64 + Copy) -> f64 {
        let total: f64 = self.trees.iter().map(|t| t.path_length(x)).sum();
        self.score_of_total(total)
    }

    /// Score from the summed path length over the trees.
    #[inline]
    fn score_of_total(&self, total: f64) -> f64 {
        if self.denominator > 0.0 {
            (-(total / self.denominator)).exp2()
        } else {
            // ψ = 1: every path has length 0; scikit-learn defines the score as 2^-1 then.
            0.5
        }
    }
}

/// One sample: `forest.predict(&sample)` with `sample` an `Array1<f64>` or `ArrayView1<f64>`.
impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix1>, f64> for IsolationForest {
    /// Anomaly score of one sample; `NaN` if it has the wrong dimension (use
    /// [`IsolationForest::score`] for a checked version). A `NaN` feature value goes right at
    /// every split on that feature. Does not allocate.
    #[inline]
    fn predict_inplace<'a>(&'a self, x: &'a ArrayBase<D, Ix1>, y: &mut f64) {
        *y = self.score_sample(x.view());
    }

    /// `NaN`, overwritten by [`PredictInplace::predict_inplace`].
    #[inline]
    fn default_target(&self, _x: &ArrayBase<D, Ix1>) -> f64 {
        f64::NAN
    }
}

/// A batch: `forest.predict(&records)` with one sample per row of an `Array2<f64>` or
/// `ArrayView2<f64>`, giving an `Array1<f64>` of scores.
impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for IsolationForest {
    /// Anomaly scores of the rows of `x`, all `NaN` if the rows have the wrong dimension.
    ///
    /// # Panics
    /// When `y` does not have one element per row of `x` (as linfa's own models).
    fn predict_inplace<'a>(&'a self, x: &'a ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(
            x.nrows(),
            y.len(),
            "the number of samples must match the number of targets"
        );
        if x.ncols() != self.n_features {
            y.fill(f64::NAN);
            return;
        }
        // Tree by tree over all rows (each tree's nodes stay in cache), summing each row's
        // path lengths in tree order: the same sums, so the same scores, as row by row.
        let mut totals = vec![0.0f64; x.nrows()];
        match x.as_slice() {
            Some(all) => {
                // Eight rows walked at once through each tree ([`path_lengths`]).
                let d = self.n_features;
                for tree in &self.trees {
                    let mut rows = all.chunks_exact(d);
                    let mut sums = totals.chunks_exact_mut(8);
                    for sum in &mut sums {
                        let mut r: [&[f64]; 8] = [&[]; 8];
                        for slot in &mut r {
                            *slot = rows.next().unwrap_or(&[]);
                        }
                        for (total, v) in sum.iter_mut().zip(path_lengths([tree; 8], r)) {
                            *total += v;
                        }
                    }
                    for (total, row) in sums.into_remainder().iter_mut().zip(rows) {
                        *total += tree.path_length(|j| row.get(j).copied().unwrap_or(f64::NAN));
                    }
                }
            }
            None => {
                for tree in &self.trees {
                    for (total, row) in totals.iter_mut().zip(x.rows()) {
                        *total += tree.path_length(|j| row.get(j).copied().unwrap_or(f64::NAN));
                    }
                }
            }
        }
        for (out, total) in y.iter_mut().zip(totals) {
            *out = self.score_of_total(total);
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::from_elem(x.nrows(), f64::NAN)
    }
}

/// Fitting on a dataset whose records are an `Array2<f64>` or `ArrayView2<f64>`, one sample per
/// row; the targets (if any) are ignored. The unchecked [`IsolationForestParams`] fit too, through
/// linfa's blanket impl over [`ParamGuard`], which checks them first.
impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, ModelsError> for IsolationForestValidParams {
    type Object = IsolationForest;

    /// Fits a forest on the rows of `dataset.records`.
    ///
    /// # Errors
    /// * [`ModelsError::EmptyTrainingSet`] for no rows;
    /// * [`ModelsError::InvalidParams`] (`name: "records"`) for rows with no features or with a
    ///   `NaN` or infinite value.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<IsolationForest> {
        let records = dataset.records.view();
        let n_features = validate_records(records)?;
        let n = records.nrows();
        let psi = self.max_samples.min(n);
        if psi > MAX_SUBSAMPLE {
            return Err(ModelsError::InvalidParams {
                name: "max_samples",
                reason: format!("subsample size {psi} exceeds {MAX_SUBSAMPLE}"),
            });
        }
        // ⌈log₂ max(ψ, 2)⌉, as scikit-learn.
        let max_depth = (usize::BITS - (psi.max(2) - 1).leading_zeros()) as usize;

        let mut builder = TreeBuilder {
            records,
            cols: Vec::with_capacity(psi * n_features),
            psi,
            max_depth,
            features: (0..n_features).collect(),
            stack: Vec::new(),
        };
        let mut master = ChaCha8Rng::seed_from_u64(self.seed);
        let mut samples: Vec<usize> = Vec::with_capacity(psi);
        let trees = (0..self.n_trees)
            .map(|_| {
                let mut rng = ChaCha8Rng::seed_from_u64(master.next_u64());
                samples.clear();
                if psi == n {
                    samples.extend(0..n);
                } else {
                    samples.extend(index::sample(&mut rng, n, psi).iter());
                }
                builder.grow(&mut rng, &mut samples)
            })
            .collect();
        Ok(IsolationForest::from_trees(n_features, psi, trees))
    }
}

/// Checks the training rows; returns their dimension.
fn validate_records(records: ArrayView2<'_, f64>) -> Result<usize> {
    let (n, n_features) = records.dim();
    if n == 0 {
        return Err(ModelsError::EmptyTrainingSet);
    }
    if n_features == 0 || u32::try_from(n_features).is_err() {
        return Err(ModelsError::InvalidParams {
            name: "records",
            reason: format!("samples must have 1..=u32::MAX features, got {n_features}"),
        });
    }
    if let Some(((i, j), v)) = records.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(ModelsError::InvalidParams {
            name: "records",
            reason: format!("row {i}, feature {j} is {v}; values must be finite"),
        });
    }
    Ok(n_features)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::{array, Array2, Axis, ShapeBuilder, Slice};
    use proptest::prelude::*;
    use rand::Rng;

    /// Rows as a matrix (the rows must have equal lengths).
    fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
        let d = rows.first().map_or(0, Vec::len);
        Array2::from_shape_vec((rows.len(), d), rows.concat()).unwrap()
    }

    /// Fits on an owned matrix.
    fn fit(params: &IsolationForestParams, records: Array2<f64>) -> Result<IsolationForest> {
        params.fit(&DatasetBase::from(records))
    }

    /// Deterministic pseudo-random cloud around the origin plus a few far outliers at the end.
    fn cloud(n_inliers: usize, outliers: &[[f64; 3]]) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let mut rows: Vec<Vec<f64>> = (0..n_inliers)
            .map(|_| (0..3).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
            .collect();
        rows.extend(outliers.iter().map(|o| o.to_vec()));
        matrix(&rows)
    }

    #[test]
    fn average_path_length_values() {
        assert_eq!(average_path_length(0), 0.0);
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2 (ln 2 + γ) − 4/3
        let c3 = 2.0 * (2f64.ln() + EULER_GAMMA) - 4.0 / 3.0;
        assert!((average_path_length(3) - c3).abs() < 1e-12);
        assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
        assert!((average_path_length(256) - 10.2448).abs() < 1e-4);
        // Monotone increasing.
        for n in 1..1000 {
            assert!(average_path_length(n + 1) > average_path_length(n));
        }
    }

    #[test]
    fn params_defaults_builder_and_check() {
        let p = IsolationForest::params().check().unwrap();
        assert_eq!((p.n_trees(), p.max_samples(), p.seed()), (100, 256, 0));
        let p = IsolationForest::params()
            .n_trees(7)
            .max_samples(2)
            .seed(3)
            .check()
            .unwrap();
        assert_eq!((p.n_trees(), p.max_samples(), p.seed()), (7, 2, 3));

        let err = IsolationForest::params().n_trees(0).check().unwrap_err();
        assert!(matches!(
            err,
            ModelsError::InvalidParams {
                name: "n_trees",
                ..
            }
        ));
        let err = IsolationForest::params()
            .max_samples(1)
            .check_ref()
            .unwrap_err();
        assert!(matches!(
            err,
            ModelsError::InvalidParams {
                name: "max_samples",
                ..
            }
        ));
    }

    #[test]
    fn params_serde() {
        let p = IsolationForest::params().n_trees(5).seed(9);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"n_trees":5,"max_samples":256,"seed":9}"#);
        let back: IsolationForestParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        let valid: IsolationForestValidParams = serde_json::from_str(&json).unwrap();
        assert_eq!(valid, p.clone().check().unwrap());
        assert_eq!(serde_json::to_string(&valid).unwrap(), json);
        // Missing fields default; unchecked params accept invalid values, checked ones refuse.
        let partial: IsolationForestParams = serde_json::from_str(r#"{"seed":4}"#).unwrap();
        assert_eq!(partial, IsolationForest::params().seed(4));
        assert!(serde_json::from_str::<IsolationForestParams>(r#"{"n_trees":0}"#).is_ok());
        assert!(serde_json::from_str::<IsolationForestValidParams>(r#"{"n_trees":0}"#).is_err());
        assert!(serde_json::from_str::<IsolationForestParams>(r#"{"trees":3}"#).is_err());
    }

    #[test]
    fn fit_errors() {
        let params = IsolationForest::params();
        assert!(matches!(
            fit(&params, Array2::zeros((0, 2))),
            Err(ModelsError::EmptyTrainingSet)
        ));

        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = fit(&params, array![[1.0, 2.0], [3.0, bad]]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ModelsError::InvalidParams {
                        name: "records",
                        ref reason,
                    } if reason.starts_with("row 1, feature 1")
                ),
                "{err}"
            );
        }

        assert!(matches!(
            fit(&params, Array2::zeros((2, 0))),
            Err(ModelsError::InvalidParams {
                name: "records",
                ..
            })
        ));

        // The unchecked params are checked first (linfa's blanket `Fit` over `ParamGuard`).
        assert!(matches!(
            fit(&params.clone().n_trees(0), array![[1.0], [2.0]]),
            Err(ModelsError::InvalidParams {
                name: "n_trees",
                ..
            })
        ));
    }

    #[test]
    fn deterministic_given_seed() {
        let rows = cloud(300, &[[5.0, 5.0, 5.0]]);
        let params = IsolationForest::params().n_trees(30).max_samples(64);
        let a = fit(&params.clone().seed(11), rows.clone()).unwrap();
        let b = fit(&params.clone().seed(11), rows.clone()).unwrap();
        let c = fit(&params.seed(12), rows.clone()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let sa: Array1<f64> = a.predict(&rows);
        let sb: Array1<f64> = b.predict(&rows);
        assert_eq!(sa, sb);
    }

    #[test]
    fn views_and_layouts_fit_and_score_alike() {
        let rows = cloud(300, &[[5.0, 5.0, 5.0]]);
        let params = IsolationForest::params().n_trees(20).seed(3);
        let owned = fit(&params, rows.clone()).unwrap();
        // A view, and the same data in column-major order, give the same forest.
        let from_view = params.fit(&DatasetBase::from(rows.view())).unwrap();
        let mut fortran = Array2::zeros(rows.raw_dim().f());
        fortran.assign(&rows);
        let from_fortran = fit(&params, fortran.clone()).unwrap();
        assert_eq!(owned, from_view);
        assert_eq!(owned, from_fortran);
        // Non-contiguous samples (rows of a column-major array) score as contiguous ones.
        let batch: Array1<f64> = owned.predict(&rows);
        let strided: Array1<f64> = owned.predict(&fortran);
        assert_eq!(batch, strided);
        assert!(fortran.row(300).as_slice().is_none());
        let one: f64 = owned.predict(&fortran.row(300));
        assert_eq!(one, batch[300]);
        // A sub-view of a batch.
        // (No `s!`: its expansion is rejected by `forbid(unsafe_code)`.)
        let tail: Array1<f64> = owned.predict(&rows.slice_axis(Axis(0), Slice::from(290..)));
        assert_eq!(tail, batch.slice_axis(Axis(0), Slice::from(290..)));
        // linfa's dataset prediction carries the scores as targets.
        let ds = owned.predict(DatasetBase::from(rows.view()));
        assert_eq!(ds.targets, batch);
    }

    #[test]
    fn scores_in_unit_interval_and_outlier_ranks_first() {
        let rows = cloud(500, &[[6.0, -6.0, 6.0], [-5.0, 7.0, -6.0]]);
        let forest = fit(&IsolationForest::params().seed(1), rows.clone()).unwrap();
        assert_eq!(forest.n_features(), 3);
        assert_eq!(forest.n_trees(), 100);
        assert_eq!(forest.max_samples(), 256);

        let scores: Array1<f64> = forest.predict(&rows);
        assert!(scores.iter().all(|&s| s > 0.0 && s < 1.0));
        let inliers = scores.slice_axis(Axis(0), Slice::from(..500));
        let max_inlier = inliers.fold(f64::MIN, |a, &b| a.max(b));
        let mean_inlier = inliers.sum() / 500.0;
        assert!(scores[500] > max_inlier && scores[501] > max_inlier);
        assert!(scores[500] > 0.6, "outlier score {}", scores[500]);
        assert!(mean_inlier < 0.5, "mean inlier score {mean_inlier}");

        // Unseen points: far away is more anomalous than the centre.
        let centre = forest.score(&[0.0, 0.0, 0.0]).unwrap();
        let far = forest.score(&[50.0, 50.0, -50.0]).unwrap();
        assert!(far > centre);
        // The single-sample impl agrees with the batch impl and the checked score.
        let one: f64 = forest.predict(&rows.row(500));
        assert_eq!(one, scores[500]);
        assert_eq!(forest.score(&rows.row(500).to_vec()).unwrap(), one);
        let buf = [6.0, -6.0, 6.0];
        let on_stack: f64 = forest.predict(&ArrayView1::from(&buf));
        assert_eq!(on_stack, one);
    }

    #[test]
    fn small_and_degenerate_training_sets() {
        // ψ = n < max_samples.
        let forest = fit(&IsolationForest::params(), cloud(10, &[])).unwrap();
        assert_eq!(forest.max_samples(), 10);

        // All rows identical: every tree is one leaf, every score is 2^-1.
        let same = Array2::from_shape_fn((50, 2), |(_, j)| [1.0, 2.0][j]);
        let forest = fit(&IsolationForest::params(), same).unwrap();
        assert!(forest.trees.iter().all(|t| t.nodes.len() == 1));
        assert!((forest.score(&[1.0, 2.0]).unwrap() - 0.5).abs() < 1e-12);
        assert!((forest.score(&[100.0, 2.0]).unwrap() - 0.5).abs() < 1e-12);

        // One row: c(1) = 0, score 0.5 as in scikit-learn.
        let forest = fit(&IsolationForest::params(), array![[3.0]]).unwrap();
        assert_eq!(forest.score(&[3.0]).unwrap(), 0.5);

        // Two rows.
        let forest = fit(&IsolationForest::params(), array![[1.0, 2.0], [3.0, 4.0]]).unwrap();
        assert_eq!(forest.max_samples(), 2);
    }

    #[test]
    fn tree_structure_respects_depth_limit_and_counts() {
        let forest = fit(&IsolationForest::params().n_trees(10), cloud(1000, &[])).unwrap();
        for tree in &forest.trees {
            // At most 2ψ − 1 nodes; leaf paths ≤ max depth 8 + c(256).
            assert!(tree.nodes.len() < 2 * 256);
            for node in tree.nodes.iter().filter(|n| n.left == 0) {
                assert!(node.value >= 0.0 && node.value <= 8.0 + average_path_length(256));
            }
        }
    }

    #[test]
    fn wrong_dimension_at_prediction() {
        let forest = fit(&IsolationForest::params().n_trees(5), cloud(50, &[])).unwrap();
        assert!(matches!(
            forest.score(&[1.0]),
            Err(ModelsError::DimensionMismatch {
                expected: 3,
                got: 1
            })
        ));
        let s: f64 = forest.predict(&array![1.0, 2.0]);
        assert!(s.is_nan());
        let batch: Array1<f64> = forest.predict(&Array2::zeros((2, 4)));
        assert!(batch.iter().all(|s| s.is_nan()));
        let batch: Array1<f64> = forest.predict(&Array2::zeros((2, 3)));
        assert!(batch.iter().all(|&s| s > 0.0));
        // NaN features do not panic.
        assert!(forest.score(&[f64::NAN; 3]).unwrap().is_finite());
    }

    #[test]
    fn forest_serde_roundtrip() {
        let rows = cloud(200, &[[4.0, 4.0, 4.0]]);
        let forest = fit(&IsolationForest::params().n_trees(20).seed(5), rows.clone()).unwrap();
        let json = serde_json::to_string(&forest).unwrap();
        let back: IsolationForest = serde_json::from_str(&json).unwrap();
        assert_eq!(back.n_features(), 3);
        assert_eq!(back.n_trees(), 20);
        let before: Array1<f64> = forest.predict(&rows);
        let after: Array1<f64> = back.predict(&rows);
        for (x, y) in before.iter().zip(&after) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!(format!("{back:?}").contains("n_trees: 20"));
    }

    #[test]
    fn forest_deserialisation_rejects_inconsistent_trees() {
        let ok = r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[0,0,0],"left":[1,0,0],"value":[0.5,1.0,1.0]}]}"#;
        let forest: IsolationForest = serde_json::from_str(ok).unwrap();
        assert!(forest.score(&[0.0]).unwrap() > 0.0);

        let bad = [
            // Cycle: node 1 points back to itself.
            r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[0,0,0],"left":[1,1,0],"value":[0.5,1.0,1.0]}]}"#,
            // Child out of range.
            r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[0,0,0],"left":[2,0,0],"value":[0.5,1.0,1.0]}]}"#,
            // Feature out of range.
            r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[1,0,0],"left":[1,0,0],"value":[0.5,1.0,1.0]}]}"#,
            // Ragged arrays.
            r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[0,0],"left":[1,0,0],"value":[0.5,1.0,1.0]}]}"#,
            // Negative leaf path length.
            r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[0],"left":[0],"value":[-1.0]}]}"#,
            // Empty tree, no trees, zero features.
            r#"{"n_features":1,"max_samples":4,"trees":[{"feature":[],"left":[],"value":[]}]}"#,
            r#"{"n_features":1,"max_samples":4,"trees":[]}"#,
            r#"{"n_features":0,"max_samples":4,"trees":[{"feature":[0],"left":[0],"value":[1.0]}]}"#,
        ];
        for json in bad {
            assert!(
                serde_json::from_str::<IsolationForest>(json).is_err(),
                "{json}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn prop_scores_in_open_unit_interval(
            rows in prop::collection::vec(prop::collection::vec(-1e6f64..1e6, 2), 2..120),
            probe in prop::collection::vec(-1e7f64..1e7, 2),
            seed in any::<u64>(),
        ) {
            let params = IsolationForest::params().n_trees(10).max_samples(32).seed(seed);
            let forest = fit(&params, matrix(&rows)).unwrap();
            let s = forest.score(&probe).unwrap();
            prop_assert!(s > 0.0 && s < 1.0, "score {}", s);
            for row in &rows {
                let s = forest.score(row).unwrap();
                prop_assert!(s > 0.0 && s < 1.0, "score {}", s);
            }
        }

        /// The lockstep walks ([`path_lengths`]: four trees per sample, eight samples per
        /// tree) give exactly what walking each tree alone gives, for any number of trees and
        /// rows, with missing (`NaN`) features, and after a JSON round trip.
        #[test]
        fn prop_lockstep_walks_equal_single_walks(
            rows in prop::collection::vec(prop::collection::vec(-1e3f64..1e3, 3), 2..60),
            probes in prop::collection::vec(
                prop::collection::vec(prop_oneof![3 => -2e3f64..2e3, 1 => Just(f64::NAN)], 3),
                1..30,
            ),
            n_trees in 1usize..14,
            seed in any::<u64>(),
        ) {
            let params = IsolationForest::params().n_trees(n_trees).max_samples(16).seed(seed);
            let forest = fit(&params, matrix(&rows)).unwrap();
            let loaded: IsolationForest =
                serde_json::from_str(&serde_json::to_string(&forest).unwrap()).unwrap();
            let batch = matrix(&probes);
            let mut fortran = Array2::zeros(batch.raw_dim().f());
            fortran.assign(&batch);
            for f in [&forest, &loaded] {
                // Standard layout: the lockstep batch; column-major: one walk at a time.
                let lockstep: Array1<f64> = f.predict(&batch);
                let single: Array1<f64> = f.predict(&fortran);
                for (i, probe) in probes.iter().enumerate() {
                    let alone: f64 = f.trees.iter().map(|t| {
                        t.path_length(|j| probe.get(j).copied().unwrap_or(f64::NAN))
                    }).sum();
                    let expected = f.score_of_total(alone);
                    let contiguous: f64 = f.predict(&ArrayView1::from(probe.as_slice()));
                    prop_assert_eq!(contiguous.to_bits(), expected.to_bits());
                    prop_assert_eq!(lockstep[i].to_bits(), expected.to_bits());
                    prop_assert_eq!(single[i].to_bits(), expected.to_bits());
                }
            }
        }

        #[test]
        fn prop_extreme_finite_values_do_not_panic(
            a in prop::num::f64::NORMAL, b in prop::num::f64::NORMAL, seed in any::<u64>(),
        ) {
            let rows = array![[a, -b], [-a, b], [f64::MAX, f64::MIN], [0.0, 0.0]];
            let forest = fit(&IsolationForest::params().n_trees(5).seed(seed), rows.clone()).unwrap();
            for row in rows.rows() {
                let s: f64 = forest.predict(&row);
                prop_assert!(s > 0.0 && s < 1.0);
            }
        }
    }
}
