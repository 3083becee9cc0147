//! Recommendations from interactions (issue 4): the interaction matrix read from a project's view, the models
//! trained on it (popular, similar items, bought together, EASE or item-kNN), and the ranking metrics they are
//! evaluated with (Recall@K, NDCG@K).
//!
//! Training is pure computation on a snapshot ([`data::extract`] copies what it needs under the view's read lock);
//! serving reads a customer's history live from the view and scores it with the trained parameters, so a new event
//! changes the next answer without retraining.

pub mod codec;
pub mod data;
pub mod ease;
pub mod evaluate;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod neighbors;

pub use data::{TrainingData, extract};
pub use model::{Info, Personal, Scored, Trained};
