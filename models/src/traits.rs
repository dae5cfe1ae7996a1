//! Small, linfa-style traits shared by the models of the detection core.
//!
//! The pattern follows [linfa](https://github.com/rust-ml/linfa):
//!
//! * a model is configured through an *unchecked* parameter type with builder methods;
//! * [`ParamGuard`] validates it into a *checked* parameter type;
//! * the checked type implements [`Fit`], which turns training records into a fitted model;
//! * the fitted model implements [`Predict`] for one sample and/or for a batch.
//!
//! There is deliberately no blanket `impl<P: ParamGuard> Fit<R> for P`: a parameter type that
//! wants to be fitted directly implements [`Fit`] itself by delegating to
//! [`ParamGuard::check_ref`] and the checked type's [`Fit`].

use crate::error::Result;

/// Validation of a set of hyper-parameters.
///
/// An unchecked parameter type (built with builder methods, or deserialised from a config
/// file) turns into its checked counterpart only through this trait, so code holding a
/// `Checked` value knows the parameters are valid.
pub trait ParamGuard {
    /// The validated parameter type.
    type Checked;

    /// Validates the parameters and borrows them as the checked type.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParams`](crate::ModelsError::InvalidParams) naming the first
    /// offending parameter.
    fn check_ref(&self) -> Result<&Self::Checked>;

    /// Validates the parameters and converts them into the checked type.
    ///
    /// # Errors
    /// Same as [`ParamGuard::check_ref`].
    fn check(self) -> Result<Self::Checked>;
}

/// Fitting a model on training records of type `R`.
pub trait Fit<R> {
    /// The fitted model.
    type Object;

    /// Fits a model on `records`.
    ///
    /// # Errors
    /// Model specific: typically an empty training set, rows of differing dimension, or
    /// values the model cannot learn from.
    fn fit(&self, records: R) -> Result<Self::Object>;
}

/// Prediction with a fitted model: maps records of type `R` to a target of type `T`.
///
/// A model may implement it several times, e.g. for one sample (`&[f64]` to `f64`) and for a
/// batch (`&[Vec<f64>]` to `Vec<f64>`). Prediction is infallible; models document what they
/// return for malformed input (for instance `NaN` for a sample of the wrong dimension) and
/// usually offer a checked alternative returning a [`Result`].
pub trait Predict<R, T> {
    /// Predicts the target of `records`.
    fn predict(&self, records: R) -> T;
}
