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

/// What the built book is made of: its chapters, the lesson texts and outputs they include, the translation.
fn sources(root: &Path) -> Vec<PathBuf> {
    ["book/src", "book/po", "lessons", "tests/snapshots"].iter().map(|dir| root.join(dir)).collect()
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest change of a file under `paths`.
fn newest(paths: &[PathBuf]) -> Option<std::time::SystemTime> {
    paths
        .iter()
        .filter_map(|path| match std::fs::read_dir(path) {
            Ok(entries) => {
                let inner: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                newest(&inner)
            }
            Err(_) => modified(path),
        })
        .max()
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
        let advice = if newest(&sources(root)) > modified(&page) {
            t!("The built manual is older than its sources: rebuild it first: {build}", build)
        } else {
            t!("Open it in your browser; after changing the book, rebuild it: {build}", build)
        };
        return format!("file://{}\n{advice}", page.display());
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

    #[test]
    fn a_book_built_before_its_sources_changed_is_said_to_be_old() -> std::io::Result<()> {
        let root = std::env::temp_dir().join(format!("book-stale-{}", std::process::id()));
        std::fs::create_dir_all(root.join("book/book"))?;
        std::fs::create_dir_all(root.join("book/src"))?;
        std::fs::write(root.join("book/book.toml"), "")?;
        let page = std::fs::File::create(root.join("book/book/index.html"))?;
        std::fs::write(root.join("book/src/intro.md"), "# Intro")?;
        let hour = std::time::Duration::from_secs(3600);
        page.set_modified(std::time::SystemTime::now() - hour)?;
        let stale = page_in(&root, None);
        page.set_modified(std::time::SystemTime::now() + hour)?;
        let fresh = page_in(&root, None);
        std::fs::remove_dir_all(&root)?;
        assert!(stale.contains("older than its sources"), "{stale}");
        assert!(fresh.contains("Open it in your browser"), "{fresh}");
        Ok(())
    }
}
