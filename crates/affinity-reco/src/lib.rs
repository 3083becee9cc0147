//! Recommendations from interactions (issue 4): the interaction matrix read from a project's view, the models
//! trained on it (popular, similar items, bought together, EASE or item-kNN, repeat purchases), serving them, and the ranking
//! metrics and protocols they are evaluated with (Recall@K, NDCG@K).
//!
//! Training is pure computation on a snapshot ([`data::extract`] copies what it needs under the view's read lock);
//! serving ([`serve`]) reads a customer's history live from the view and scores it with the trained parameters, so
//! a new event changes the next answer without retraining. Storing models and running training jobs is the
//! caller's: this crate never touches the store.

pub mod basket;
pub mod codec;
pub mod data;
pub mod ease;
pub mod error;
pub mod evaluate;
pub mod ials;
pub mod kernels;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod neighbors;
pub mod protocol;
pub mod repeat;
pub mod serve;
#[cfg(test)]
mod test_data;
pub mod tuning;

pub use data::{TrainingData, extract};
pub use error::RecoError;
pub use model::{Info, Personal, Trained};
