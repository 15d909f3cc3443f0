//! Lesson 11 live: the secure broker started by `lesson 11 --run`, every door of `lesson check 11` held against
//! an independent client's verdict (kcat, the same settings by hand), doors broken on purpose through the
//! broker's own tools and named by the check, lessons 4 and 5 through a connection profile as on a managed Kafka,
//! and no password in anything the program printed.

use crate::common;
#[path = "secure/profiles.rs"]
mod profiles;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use common::Learner;

/// The check's facts: the published port, nine doors, the secrets.
const DOORS: std::ops::Range<usize> = 1..10;

struct Secure<'a> {
    l: &'a Learner,
    dir: PathBuf,
    /// Every output of the program, to search for passwords at the end.
    said: std::cell::RefCell<String>,
}

impl Secure<'_> {
    /// `lesson ARGS`, which must exit with `code`: what it printed on stdout and on stderr, both kept in `said`.
    fn outcome(&self, args: &[&str], code: i32) -> Result<common::Outcome> {
        let out = self.l.lesson(args)?;
        self.said.borrow_mut().push_str(&format!("{}{}", out.stdout, out.stderr));
        ensure!(
            out.code == code,
            "`lesson {}` exited {} (wanted {code})",
            args.join(" "),
            out.code
        );
        Ok(out)
    }

    fn lesson(&self, args: &[&str], code: i32) -> Result<String> {
        Ok(self.outcome(args, code)?.stdout)
    }

    fn stderr(&self, args: &[&str], code: i32) -> Result<String> {
        Ok(self.outcome(args, code)?.stderr)
    }

    /// `lesson check 11 --json`: each fact passed or not.
    fn verdicts(&self) -> Result<Vec<bool>> {
        let out = self.l.lesson(&["check", "11", "--json"])?;
        self.said.borrow_mut().push_str(&out.stdout);
        let json: serde_json::Value = serde_json::from_str(&out.stdout)?;
        let facts = json["facts"].as_array().context("no facts")?;
        Ok(facts.iter().map(|f| f["status"] == "pass").collect())
    }

    fn password(&self, variable: &str) -> Result<String> {
        let text = std::fs::read_to_string(self.dir.join("secrets.env"))?;
        let line = text.lines().find_map(|l| l.strip_prefix(variable)?.strip_prefix('='));
        Ok(line.context("no such variable in secrets.env")?.to_string())
    }

    /// kcat as the chapter types it in `secure/`: `-F USER.conf` when given, then `args`. Whether it succeeded,
    /// and what it said.
    fn kcat(&self, user: Option<&str>, args: &[&str]) -> Result<(bool, String)> {
        let mut command = Command::new("kcat");
        command.current_dir(&self.dir);
        if let Some(user) = user {
            command.args(["-F", &format!("{user}.conf")]);
        }
        // -m: how long kcat -L waits for metadata; a refused client waits all of it.
        command.args(["-m", "3", "-X", "message.timeout.ms=10000"]);
        kcat(command.args(args))
    }

    /// Each door as kcat finds it: whether it did what it should (let in, or turn away for its reason).
    fn judge(&self) -> Result<Vec<bool>> {
        let port = self.l.secure_port;
        let (localhost, address) = (format!("localhost:{port}"), format!("127.0.0.1:{port}"));
        let stranger = self.dir.join("stranger-ca.pem");
        std::fs::write(&stranger, workshop::secure::certs::make("Stranger", &["localhost"])?.ca)?;
        let trust_stranger = format!("ssl.ca.location={}", stranger.display());
        let refused = |(ok, said): (bool, String), reason: &str| !ok && said.contains(reason);
        // kcat exits 0 even when a record it sent was refused; it says so.
        let wrote = |(ok, said): (bool, String)| ok && !said.contains("Delivery failed");
        let verdicts = vec![
            refused(self.kcat(None, &["-b", &localhost, "-L"])?, "Broker transport failure"),
            refused(
                self.kcat(Some("writer"), &["-X", &trust_stranger, "-b", &localhost, "-L"])?,
                "certificate verify failed",
            ),
            refused(
                self.kcat(Some("writer"), &["-b", &address, "-L"])?,
                "certificate verify failed",
            ),
            refused(
                self.kcat(Some("writer"), &["-X", "sasl.password=guess", "-b", &localhost, "-L"])?,
                "SASL authentication error",
            ),
            wrote(self.kcat(Some("writer"), &["-b", &localhost, "-P", "-t", "secure-orders"])?),
            refused(
                self.kcat(Some("writer"), &["-b", &localhost, "-P", "-t", "secure-other"])?,
                "Topic authorization failed",
            ),
            self.kcat(
                Some("reader"),
                &["-b", &localhost, "-e", "-G", "secure-readers", "secure-orders"],
            )?
            .0,
            refused(
                self.kcat(
                    Some("reader"),
                    &["-b", &localhost, "-e", "-G", "secure-intruders", "secure-orders"],
                )?,
                "Group authorization failed",
            ),
            refused(
                self.kcat(
                    Some("reader"),
                    &["-b", &localhost, "-e", "-G", "secure-readers", "secure-other"],
                )?,
                "Topic authorization failed",
            ),
        ];
        std::fs::remove_file(&stranger)?;
        Ok(verdicts)
    }

    /// The check's doors and kcat's agree; returns the check's.
    fn doors_agree(&self) -> Result<Vec<bool>> {
        let check = self.verdicts()?;
        let kcat = self.judge()?;
        ensure!(check.len() == DOORS.end + 1, "check 11 gave {} facts", check.len());
        ensure!(check[DOORS] == kcat[..], "check 11's doors {:?}, kcat's {kcat:?}", &check[DOORS]);
        Ok(check)
    }

    /// `docker compose exec -T kafka ARGS` in `secure/`, as the chapter types it.
    fn exec(&self, args: &[&str]) -> Result<()> {
        let out = self.l.secure_compose(&[&["exec", "-T", "kafka"], args].concat())?;
        ensure!(out.status.success(), "exec {args:?} failed");
        Ok(())
    }
}

/// Runs kcat: whether it succeeded, and what it said. Writing, it writes one record read from its stdin.
fn kcat(command: &mut Command) -> Result<(bool, String)> {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("kcat is needed (apt install kcat)")?;
    child.stdin.take().context("no stdin")?.write_all(b"written by kcat\n")?;
    let out = child.wait_with_output()?;
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("$ kcat … -> {:?}\n{said}", out.status.code());
    Ok((out.status.success(), said))
}

#[test]
fn every_door_of_the_secure_broker_holds_as_the_broker_says() -> Result<()> {
    let _memory = common::memory::reserve(2_300); // the secure broker and a stack
    let l = Learner::new()?;
    let s = Secure { l: &l, dir: l.config.dir.join("secure"), said: Default::default() };
    let _down = l.secure_down_on_drop();
    snapshot!("l11_secure_explain", s.lesson(&["11"], 0)?);
    for (lang, name) in common::in_both_languages("l11_secure_check_not_started") {
        snapshot!(name, s.lesson(&["--lang", lang, "check", "11"], 1)?);
    }
    snapshot!("l11_secure_run", s.lesson(&["11", "--run"], 0)?);
    for (lang, name) in common::in_both_languages("l11_secure_check") {
        snapshot!(name, s.lesson(&["--lang", lang, "check", "11"], 0)?);
    }
    ensure!(s.doors_agree()?.iter().all(|pass| *pass));

    // A door left open on purpose: an ACL that lets writer write to every topic.
    let widen = [
        "--bootstrap-server",
        "127.0.0.1:29092",
        "--allow-principal",
        "User:writer",
        "--producer",
        "--topic",
        "*",
    ];
    s.exec(&[&["kafka-acls", "--add"], &widen[..]].concat())?;
    common::wait_for("the wider ACL to be in force", || Ok(!s.verdicts()?[6]))?;
    let check = s.doors_agree()?;
    ensure!(check.iter().enumerate().all(|(i, pass)| *pass == (i != 6)), "{check:?}");
    for (lang, name) in common::in_both_languages("l11_secure_check_acl_widened") {
        snapshot!(name, s.lesson(&["--lang", lang, "check", "11"], 1)?);
    }
    s.exec(&[&["kafka-acls", "--remove", "--force"], &widen[..]].concat())?;
    common::wait_for("the wider ACL to be gone", || Ok(s.verdicts()?.iter().all(|p| *p)))?;

    // Another: reader's password changed behind the lesson's back; `lesson 11 --run` sets it again.
    let config = "SCRAM-SHA-512=[password=changed-behind-its-back]";
    s.exec(&[
        "kafka-configs",
        "--bootstrap-server",
        "127.0.0.1:29092",
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        "reader",
        "--add-config",
        config,
    ])?;
    common::wait_for("reader's new password to be in force", || Ok(!s.verdicts()?[7]))?;
    let check = s.doors_agree()?;
    ensure!(!check[7], "{check:?}");
    s.lesson(&["11", "--run"], 0)?;
    ensure!(s.doors_agree()?.iter().all(|pass| *pass));

    profiles::lessons_through_a_profile(&s)?;

    // Bad input: secrets.env without writer's password.
    let secrets = s.dir.join("secrets.env");
    let kept = std::fs::read_to_string(&secrets)?;
    let without: String = kept
        .lines()
        .filter(|l| !l.starts_with("WORKSHOP_WRITER_PASSWORD="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&secrets, without)?;
    for (lang, name) in common::in_both_languages("l11_secure_check_secret_missing") {
        snapshot!(name, s.stderr(&["--lang", lang, "check", "11"], 2)?);
    }
    std::fs::write(&secrets, &kept)?;

    let said = s.said.borrow().clone();
    for variable in
        ["WORKSHOP_ADMIN_PASSWORD", "WORKSHOP_WRITER_PASSWORD", "WORKSHOP_READER_PASSWORD"]
    {
        ensure!(!said.contains(&s.password(variable)?), "{variable}'s value was printed");
    }
    snapshot!("l11_secure_reset", s.lesson(&["reset", "11", "--yes"], 0)?);
    ensure!(!s.dir.exists(), "secure/ is still there");
    Ok(())
}
