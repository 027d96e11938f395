//! Offline policy evaluation.

pub mod document;
pub mod evaluate;
pub mod flows;
pub mod inputs;
pub mod live;
mod matching;
pub mod run;
pub mod terraform;
