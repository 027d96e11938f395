//! Everything that talks to AWS APIs through the SDK.

pub mod credentials;
pub mod ecr;
pub mod repository;
