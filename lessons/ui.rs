//! What the program shows while it works, independent of any lesson.

pub mod markdown;
pub mod progress;
pub mod text;
