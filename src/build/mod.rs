//! The build area: what the user's build will read and push — its
//! Dockerfile, its workflow's build step, its cache and its tags — so the
//! push preflight judges that build, not a generic one.

pub mod dockerfile;
pub mod facts;
pub mod gather;
pub mod rules;
pub mod workflow;
