//! What the program shows while it works, independent of any lesson.

#[macro_use]
pub mod lang;
pub mod markdown;
pub mod progress;
pub mod text;
