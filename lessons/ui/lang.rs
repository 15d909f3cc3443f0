//! The language the program speaks: English, or Brazilian Portuguese. Chosen once, at start, from `--lang`,
//! else `WORKSHOP_LANG`, else the locale (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`); English when none says.
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
            // Portugal's Portuguese reads Brazil's more easily than English.
            "pt" => Some(Lang::PtBr),
            other if other.starts_with("pt-") => Some(Lang::PtBr),
            "c" | "posix" | "en" => Some(Lang::En),
            other if other.starts_with("en-") => Some(Lang::En),
            _ => None,
        }
    }
}

static CHOSEN: OnceLock<Lang> = OnceLock::new();

/// Said in both languages: no language is chosen yet when it is said.
const UNKNOWN: &str = "The workshop speaks English and Brazilian Portuguese, not `{asked}`: use en or pt-BR.\n\
                       O workshop fala inglês e português do Brasil, não `{asked}`: use en ou pt-BR.";

/// Chooses the language for this run, as gettext would with `WORKSHOP_LANG` in front: `--lang` (`flag`),
/// else `WORKSHOP_LANG`, else `LANGUAGE`'s first language we speak (unless the locale is C), else the locale
/// (`LC_ALL`, `LC_MESSAGES`, `LANG`: the first set); English when none names a language we speak. Only an
/// unknown `--lang` is refused; an unknown `WORKSHOP_LANG` is said and passed over.
pub fn choose(flag: Option<&str>) -> Result<Lang> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let lang = match flag.filter(|f| !f.is_empty()) {
        Some(asked) => match Lang::from_tag(asked) {
            Some(lang) => lang,
            None => bail!(UNKNOWN.replace("{asked}", asked)),
        },
        None => {
            let workshop = var("WORKSHOP_LANG").and_then(|asked| {
                let lang = Lang::from_tag(&asked);
                if lang.is_none() {
                    eprintln!("{} (WORKSHOP_LANG)", UNKNOWN.replace("{asked}", &asked));
                }
                lang
            });
            let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|name| var(name));
            let c = locale
                .as_deref()
                .is_none_or(|l| matches!(l.split(['.', '@']).next(), Some("C" | "POSIX")));
            let language = var("LANGUAGE")
                .filter(|_| !c)
                .and_then(|list| list.split(':').find_map(Lang::from_tag));
            workshop
                .or(language)
                .or_else(|| locale.as_deref().and_then(Lang::from_tag))
                .unwrap_or(Lang::En)
        }
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
