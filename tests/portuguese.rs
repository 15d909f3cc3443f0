//! The program in Brazilian Portuguese, through the real binary: every lesson's explanation, the overview, a
//! hint. (Checks and errors in Portuguese are snapshotted beside their English twins, in
//! tests/live/lessons.rs, tests/live/errors.rs, tests/live/collect.rs.) English is the default; `--lang`,
//! `WORKSHOP_LANG` or the locale choose Portuguese.

mod common;

use anyhow::{ensure, Result};
use common::{Learner, ERROR};

const PT: [&str; 2] = ["--lang", "pt-BR"];

fn pt<'a>(args: &[&'a str]) -> Vec<&'a str> {
    PT.iter().copied().chain(args.iter().copied()).collect()
}

#[test]
fn every_lesson_explains_itself_in_portuguese() -> Result<()> {
    let l = Learner::new()?;
    for (id, slug) in workshop::catalog::infos().map(|i| (i.id, i.slug)) {
        let text = l.expect(&pt(&[&id.to_string()]), 0)?;
        snapshot!(format!("l{id:02}_{}_explain_pt_br", slug.replace('-', "_")), text);
    }
    Ok(())
}

#[test]
fn overview_and_hint_in_portuguese() -> Result<()> {
    let l = Learner::new()?;
    snapshot!("overview_pt_br", l.expect(&pt(&[]), 0)?);
    snapshot!("hint_4_pt_br", l.expect(&pt(&["hint", "4"]), 0)?);
    Ok(())
}

#[test]
fn the_locale_chooses_the_language_and_a_flag_overrides_it() -> Result<()> {
    let l = Learner::new()?;
    let with = |vars: &[(&str, &str)], args: &[&str]| -> Result<String> {
        let mut command = l.command(args);
        command.env_remove("WORKSHOP_LANG");
        for var in ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"] {
            command.env_remove(var);
        }
        command.envs(vars.iter().copied());
        Ok(l.run(args, command)?.stdout)
    };
    let first_line = |text: String| text.lines().next().unwrap_or_default().to_string();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let total = workshop::catalog::LESSONS.len();
    let (pt, en) = (
        format!("Lição 4 de {total} · Criar um tópico").leak() as &str,
        format!("Lesson 4 of {total} · Create a topic").leak() as &str,
    );
    let cases: [Case; 10] = [
        (&[("LANG", "pt_BR.UTF-8")], &["4"], pt),
        (&[("LC_ALL", "pt_BR.UTF-8"), ("LANG", "en_US.UTF-8")], &["4"], pt),
        (&[("LC_ALL", "C.UTF-8"), ("LANG", "pt_BR.UTF-8")], &["4"], en),
        (&[("LANG", "pt_BR.UTF-8")], &["--lang", "en", "4"], en),
        (&[("WORKSHOP_LANG", "pt-BR"), ("LANG", "C")], &["4"], pt),
        (&[("WORKSHOP_LANG", "klingon"), ("LANG", "pt_BR.UTF-8")], &["4"], pt),
        (&[("LANGUAGE", "pt_BR:en"), ("LANG", "en_US.UTF-8")], &["4"], pt),
        (&[("LANGUAGE", "pt_BR"), ("LANG", "C.UTF-8")], &["4"], en),
        (&[("LANG", "pt_PT.UTF-8")], &["4"], pt),
        (&[("LANG", "de_DE.UTF-8")], &["4"], en),
    ];
    for (vars, args, expected) in cases {
        let seen = first_line(with(vars, args)?);
        ensure!(seen == expected, "with {vars:?} and {args:?}: {seen:?}, wanted {expected:?}");
    }
    Ok(())
}

#[test]
fn an_unknown_language_is_refused_and_json_stays_english() -> Result<()> {
    let l = Learner::new()?;
    snapshot!("unknown_language", l.fails(&["--lang", "de", "4"], ERROR)?.stderr);
    let json = l.expect(&["--lang", "pt-BR", "check", "1", "--json"], 1)?;
    ensure!(
        json.contains("\"exists\"") || json.contains(" exists"),
        "JSON is for programs, in English: {json}"
    );
    Ok(())
}
