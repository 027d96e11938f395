//! The push preflight: replay buildx's multi-platform push and name what fails.

pub mod create_on_push;
pub mod denial;
pub mod diagnose;
pub mod ecr;
pub mod exchange;
pub mod facts;
pub mod image;
pub mod probe;
pub mod read_only;
pub mod registry;
pub mod run;
pub mod steps;
