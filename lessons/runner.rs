//! The `lesson` program: its command line and what each command does.

pub mod app;
pub mod book;
pub mod cli;
pub mod doctor;
pub mod list;
pub mod report;
pub mod reset;
pub mod tour;
pub mod watch;
