//! The language the program speaks: English, or Brazilian Portuguese. Chosen once, at start, from `--lang`
//! (or `WORKSHOP_LANG`), else from the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`); English when none says.
//!
//! Messages are written in English in the code, marked `t!("…")` (translated where used) or `n!("…")` (a
//! constant, translated where it is filled), and looked up in `lessons/po/pt-BR.po`. A lesson's text is
//! translated paragraph by paragraph from the book's catalog (`book/po/pt-BR.po`), so the program and the
//! Portuguese book say the same words.

pub mod po;

use std::collections::HashMap;
use std::sync::OnceLock;

use anyhow::{bail, Result};

/// `t!("Topic `{topic}` exists", topic = name)`: the message in the chosen language, placeholders filled;
/// `t!("Done.")` alone is a `&'static str`.
#[macro_export]
macro_rules! t {
    (@value $name:ident = $value:expr) => { $value };
    (@value $name:ident) => { $name };
    ($msgid:literal) => { $crate::ui::lang::tr($msgid) };
    ($msgid:literal, $($name:ident $(= $value:expr)?),+ $(,)?) => {
        $crate::ui::text::fill(
            $msgid,
            &[$((stringify!($name), &$crate::t!(@value $name $(= $value)?) as &dyn ::std::fmt::Display)),+],
        )
    };
}

/// Marks a message kept in a constant; it is translated where it is used (`tr`, `text::fill`).
#[macro_export]
macro_rules! n {
    ($msgid:literal) => {
        $msgid
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    PtBr,
}

impl Lang {
    /// `pt-BR`, `pt_BR.UTF-8`, `pt`, `en_US`, `C`… as `--lang` or a locale variable writes it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag =
            tag.split(['.', '@']).next().unwrap_or_default().to_ascii_lowercase().replace('_', "-");
        match tag.as_str() {
            "pt-br" | "pt" => Some(Lang::PtBr),
            "c" | "posix" | "en" => Some(Lang::En),
            other if other.starts_with("en-") => Some(Lang::En),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::PtBr => "pt-BR",
        }
    }
}

static CHOSEN: OnceLock<Lang> = OnceLock::new();

/// Chooses the language for this run: `asked` (from `--lang` or `WORKSHOP_LANG`) must be one the workshop
/// speaks; otherwise the first locale variable set decides, and an unknown locale means English.
pub fn choose(asked: Option<&str>) -> Result<Lang> {
    let lang = match asked.filter(|a| !a.is_empty()) {
        Some(asked) => match Lang::from_tag(asked) {
            Some(lang) => lang,
            None => bail!(
                "The workshop speaks English and Brazilian Portuguese, not `{asked}` (--lang or WORKSHOP_LANG).\n\
                 Use --lang en or --lang pt-BR."
            ),
        },
        None => ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .and_then(|locale| Lang::from_tag(&locale))
            .unwrap_or(Lang::En),
    };
    Ok(*CHOSEN.get_or_init(|| lang))
}

/// The language chosen for this run; English until one is chosen (the library's own tests).
pub fn current() -> Lang {
    CHOSEN.get().copied().unwrap_or(Lang::En)
}

fn program_catalog() -> &'static HashMap<String, String> {
    static CATALOG: OnceLock<HashMap<String, String>> = OnceLock::new();
    CATALOG.get_or_init(|| po::translations(include_str!("../po/pt-BR.po")))
}

/// `msgid` in the chosen language; itself when it has no translation.
pub fn tr(msgid: &str) -> &str {
    match current() {
        Lang::En => msgid,
        Lang::PtBr => program_catalog().get(msgid).map_or(msgid, String::as_str),
    }
}

/// A lesson's markdown text in the chosen language, each paragraph, heading and list item translated as the
/// Portuguese book translates it; a block without a translation stays as written.
pub fn markdown(md: &str) -> String {
    match current() {
        Lang::En => md.to_string(),
        Lang::PtBr => po::translate_markdown(md, book_catalog()),
    }
}

fn book_catalog() -> &'static polib::catalog::Catalog {
    static CATALOG: OnceLock<polib::catalog::Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| po::catalog(include_str!("../../book/po/pt-BR.po")))
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn tags_and_locales_name_a_language() {
        for tag in ["pt-BR", "pt_BR.UTF-8", "pt_BR", "pt", "PT-br", "pt_BR.utf8@euro"] {
            assert_eq!(Lang::from_tag(tag), Some(Lang::PtBr), "{tag}");
        }
        for tag in ["en", "en_US.UTF-8", "C", "C.UTF-8", "POSIX", "en-GB"] {
            assert_eq!(Lang::from_tag(tag), Some(Lang::En), "{tag}");
        }
        for tag in ["de_DE.UTF-8", "es", ""] {
            assert_eq!(Lang::from_tag(tag), None, "{tag}");
        }
    }

    #[test]
    fn placeholders_are_filled_by_name() {
        let topic = "events";
        assert_eq!(
            t!("topic `{topic}` has {n} partitions", topic, n = 3),
            "topic `events` has 3 partitions"
        );
        assert_eq!(t!("as it is"), "as it is");
    }
}
