//! `lesson book [N]`: where the manual's chapter of a lesson is, built, and how to build it if it is not.

use std::path::{Path, PathBuf};

use crate::lesson::Info;

/// The workshop's sources, where `cargo install --path .` built this program from.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The command README.md gives to read the manual (its pinned mdbook), so the two never differ.
fn serve_command() -> &'static str {
    include_str!("../../README.md")
        .lines()
        .find_map(|l| l.strip_prefix("$ ").filter(|c| c.starts_with("cargo install mdbook")))
        .unwrap_or("cargo install mdbook --locked && mdbook serve book --open")
}

/// The page of `lesson`'s chapter (or the first page) in the built book, or how to build it.
pub fn page(lesson: Option<&Info>) -> String {
    page_in(&root(), lesson)
}

fn page_in(root: &Path, lesson: Option<&Info>) -> String {
    if !root.join("book/book.toml").is_file() {
        return format!(
            "This program was built from {}, which no longer holds the workshop's sources (moved or \
             deleted?). The manual is in the book/ folder of the workshop's repository: clone it again and \
             run there: {}",
            root.display(),
            serve_command()
        );
    }
    let name = lesson.map_or("index.html".to_string(), |i| format!("{:02}-{}.html", i.id, i.slug));
    let page = root.join("book/book").join(&name);
    if page.is_file() {
        return format!(
            "file://{}\nOpen it in your browser; after changing the book, rebuild it: mdbook build {}",
            page.display(),
            root.join("book").display()
        );
    }
    format!(
        "The manual is not built yet. From {}, read it served on your machine (the first install takes a few \
         minutes):\n  {}\nthen open {name} in it. Or build it once, `mdbook build book`, and open\n  file://{}",
        root.display(),
        serve_command(),
        page.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serve_command_is_readmes() {
        assert!(
            serve_command().starts_with("cargo install mdbook --version "),
            "{}",
            serve_command()
        );
        assert!(serve_command().ends_with("mdbook serve book --open"), "{}", serve_command());
    }

    #[test]
    fn a_missing_book_says_how_to_build_it() {
        let root = std::env::temp_dir().join(format!("book-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(root.join("book"));
        let _ = std::fs::write(root.join("book/book.toml"), "");
        let text = page_in(&root, None);
        let _ = std::fs::remove_dir_all(&root);
        assert!(text.contains("not built yet") && text.contains("book/book/index.html"), "{text}");
        let gone = page_in(Path::new("/nowhere"), None);
        assert!(gone.contains("no longer holds the workshop's sources"), "{gone}");
    }
}
