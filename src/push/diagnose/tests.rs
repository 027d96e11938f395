//! Unit tests of diagnosis on hand-made exchanges.
