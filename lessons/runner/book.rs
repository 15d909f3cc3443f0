//! `lesson book [N]`: where the manual's chapter of a lesson is, built, and how to build it if it is not.

use std::path::{Path, PathBuf};

use crate::lesson::Info;
use crate::ui::lang::{self, Lang};

/// The workshop's sources, where `cargo install --path .` built this program from.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme_command(starts: &str) -> Option<&'static str> {
    include_str!("../../README.md")
        .lines()
        .find_map(|l| l.strip_prefix("$ ").filter(|c| c.starts_with(starts)))
}

/// The command README.md gives to read the manual (its pinned mdbook), so the two never differ; in
/// Portuguese, the translation helpers' command after mdbook's install.
fn serve_command() -> String {
    let english = readme_command("cargo install mdbook ")
        .unwrap_or("cargo install mdbook --locked && mdbook serve book --open");
    match (lang::current(), readme_command("cargo install mdbook-i18n")) {
        (Lang::PtBr, Some(portuguese)) => {
            format!("{} && {portuguese}", english.split(" && ").next().unwrap_or(english))
        }
        _ => english.to_string(),
    }
}

/// Where the built book is, and how to rebuild it, in the chosen language.
fn built(root: &Path) -> (PathBuf, String) {
    let book = root.join("book");
    match lang::current() {
        Lang::En => (book.join("book"), format!("mdbook build {}", book.display())),
        Lang::PtBr => {
            let out = book.join("book/pt-BR");
            let build = format!(
                "MDBOOK_BOOK__LANGUAGE=pt-BR mdbook build {} -d {}",
                book.display(),
                out.display()
            );
            (out, build)
        }
    }
}

/// The page of `lesson`'s chapter (or the first page) in the built book, or how to build it.
pub fn page(lesson: Option<&Info>) -> String {
    page_in(&root(), lesson)
}

fn page_in(root: &Path, lesson: Option<&Info>) -> String {
    if !root.join("book/book.toml").is_file() {
        return t!(
            "This program was built from {root}, which no longer holds the workshop's sources (moved or \
             deleted?). The manual is in the book/ folder of the workshop's repository: clone it again and \
             run there: {serve}",
            root = root.display(),
            serve = serve_command()
        );
    }
    let name = lesson.map_or("index.html".to_string(), |i| format!("{:02}-{}.html", i.id, i.slug));
    let (out, build) = built(root);
    let page = out.join(&name);
    if page.is_file() {
        return format!(
            "file://{}\n{}",
            page.display(),
            t!("Open it in your browser; after changing the book, rebuild it: {build}", build)
        );
    }
    t!(
        "The manual is not built yet. From {root}, read it served on your machine (the first install takes a \
         few minutes):\n  {serve}\nthen open {name} in it. Or build it once, `{build}`, and open\n  file://{page}",
        root = root.display(),
        serve = serve_command(),
        name,
        build = build.replace(&format!("{}/", root.display()), ""),
        page = page.display()
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
