//! Offline policy evaluation.

pub mod document;
pub mod evaluate;
pub mod flows;
pub mod inputs;
mod matching;
pub mod terraform;
