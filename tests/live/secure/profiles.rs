//! Connection profiles against lesson 11's broker: lessons 4, 5, 7 and 9 through `--profile` as on a managed Kafka,
//! what kcat reads back agreeing with check 5, and every bad profile refused at once (exit 2) with its fix.

use std::process::Command;

use anyhow::{ensure, Context, Result};

use super::Secure;
use crate::common;

/// Profiles of lesson 11's broker: the one that works and one for each mistake a learner makes.
fn profiles(port: u16) -> String {
    let good = format!(
        "  bootstrap: localhost:{port}\n  security_protocol: SASL_SSL\n  sasl_mechanism: SCRAM-SHA-512\n  \
         username: admin\n  password_env: WORKSHOP_ADMIN_PASSWORD\n  ca_file: secure/tls/ca.pem\n"
    );
    [
        format!("local:\n{good}"),
        format!("plain:\n{}", good.replace("SCRAM-SHA-512", "PLAIN")),
        format!("by-address:\n{}", good.replace("localhost:", "127.0.0.1:")),
        format!("stranger:\n{}", good.replace("secure/tls/ca.pem", "stranger-ca.pem")),
        format!(
            "guessing:\n{}",
            good.replace("WORKSHOP_ADMIN_PASSWORD", "WORKSHOP_GUESSED_PASSWORD")
        ),
        format!("unset:\n{}", good.replace("WORKSHOP_ADMIN_PASSWORD", "WORKSHOP_NEVER_SET")),
        format!("typo:\n{}", good.replace("password_env", "pasword_env")),
    ]
    .concat()
}

impl Secure<'_> {
    /// `lesson --profile NAME ARGS` with admin's password in the environment, as `set -a; . secure/secrets.env`
    /// leaves it.
    fn through(&self, profile: &str, args: &[&str], code: i32) -> Result<common::Outcome> {
        let args: Vec<&str> = ["--profile", profile].iter().chain(args).copied().collect();
        let out = self.l.run(&args, self.command(&args)?)?;
        self.said.borrow_mut().push_str(&format!("{}{}", out.stdout, out.stderr));
        self.l.check_code(&args, out, code)
    }

    /// `lesson ARGS` with the passwords of the profiles in the environment.
    fn command(&self, args: &[&str]) -> Result<Command> {
        let mut command = self.l.command(args);
        command
            .env("WORKSHOP_ADMIN_PASSWORD", self.password("WORKSHOP_ADMIN_PASSWORD")?)
            .env("WORKSHOP_GUESSED_PASSWORD", "not-the-password");
        Ok(command)
    }

    /// Lesson 9 through the profile: its run, then check 9 with two readers of `lesson cluster consume` running,
    /// as the chapter asks.
    fn groups(&self) -> Result<()> {
        snapshot!("profile_l09_run", self.through("local", &["9", "--run"], 0)?.stdout);
        let mut readers = Vec::new();
        for name in ["reader-a", "reader-b"] {
            let args = ["--profile", "local", "cluster", "consume", name, "--rate", "100000"];
            let mut command = self.command(&args)?;
            command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
            readers.push(command.spawn()?);
        }
        let check = ["--profile", "local", "check", "9"];
        let checked =
            common::wait_for("check 9 to pass with two readers through the profile", || {
                Ok(self.l.run(&check, self.command(&check)?)?.code == 0)
            });
        for mut reader in readers {
            Command::new("kill").args(["-INT", &reader.id().to_string()]).status()?;
            reader.wait()?;
        }
        checked
    }

    /// The records of `topic` as kcat reads them with admin's settings: `key:value` lines.
    fn kcat_reads(&self, topic: &str) -> Result<Vec<String>> {
        let writer = std::fs::read_to_string(self.dir.join("writer.conf"))?;
        let admin: String = writer
            .lines()
            .filter(|l| !l.starts_with("sasl.username=") && !l.starts_with("sasl.password="))
            .map(|l| format!("{l}\n"))
            .collect();
        let admin = format!(
            "{admin}sasl.username=admin\nsasl.password={}\n",
            self.password("WORKSHOP_ADMIN_PASSWORD")?
        );
        std::fs::write(self.dir.join("admin.conf"), admin)?;
        let bootstrap = format!("localhost:{}", self.l.secure_port);
        let out = Command::new("kcat")
            .current_dir(&self.dir)
            .args([
                "-F",
                "admin.conf",
                "-b",
                &bootstrap,
                "-C",
                "-t",
                topic,
                "-e",
                "-q",
                "-f",
                "%k:%s\n",
            ])
            .output()
            .context("kcat is needed (apt install kcat)")?;
        std::fs::remove_file(self.dir.join("admin.conf"))?;
        ensure!(out.status.success(), "kcat: {}", String::from_utf8_lossy(&out.stderr));
        let mut lines: Vec<String> =
            String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        lines.sort();
        Ok(lines)
    }
}

pub fn lessons_through_a_profile(s: &Secure) -> Result<()> {
    let topic = &s.l.topic;
    std::fs::write(s.l.config.dir.join("profiles.yml"), profiles(s.l.secure_port))?;
    std::fs::write(
        s.l.config.dir.join("stranger-ca.pem"),
        workshop::secure::certs::make("Stranger", &["localhost"])?.ca,
    )?;
    snapshot!("profile_l04_run", s.through("local", &["4", "--run", "--topic", topic], 0)?.stdout);
    snapshot!(
        "profile_l04_check",
        s.through("local", &["check", "4", "--topic", topic], 0)?.stdout
    );
    snapshot!("profile_l05_run", s.through("local", &["5", "--run", "--topic", topic], 0)?.stdout);
    for (lang, name) in common::in_both_languages("profile_l05_check") {
        let args = ["--lang", lang, "check", "5", "--topic", topic];
        snapshot!(name, s.through("local", &args, 0)?.stdout);
    }
    let read = s.kcat_reads(topic)?;
    let sent = [
        "alice:added a book to the cart",
        "alice:checked out",
        "alice:signed up",
        "bob:signed up",
        "rust:hello from rdkafka",
    ];
    ensure!(read == sent, "kcat read {read:?}");
    // PLAIN, as Event Hubs and Confluent Cloud log in: the same lesson, only the mechanism changed.
    let plain = s.through("plain", &["check", "4", "--topic", topic], 0)?.stdout;
    ensure!(plain == s.through("local", &["check", "4", "--topic", topic], 0)?.stdout);
    snapshot!("profile_l07_run", s.through("local", &["7", "--run"], 0)?.stdout);
    snapshot!("profile_l07_check", s.through("local", &["check", "7"], 0)?.stdout);
    s.groups()?;
    // A reset that undoes only lessons taking a profile works through it: lessons 5 and 4 undone on its Kafka.
    let reset = ["reset", "4", "--yes", "--topic", topic];
    snapshot!("profile_reset_4", s.through("local", &reset, 0)?.stdout);
    let check = s.through("local", &["check", "4", "--topic", topic], common::NOT_DONE)?.stdout;
    ensure!(check.contains(&format!("✗ topic `{topic}` exists")), "{check}");
    snapshot!("profile_reset_9", s.through("local", &["reset", "9", "--yes"], 0)?.stdout);

    for (name, args) in [
        ("profile_docker_lesson", &["2", "--run"][..]),
        ("profile_reset_all", &["reset", "all", "--yes"][..]),
        ("profile_by_address", &["check", "4", "--topic", topic][..]),
        ("profile_stranger_ca", &["check", "4", "--topic", topic][..]),
        ("profile_wrong_password", &["check", "4", "--topic", topic][..]),
        ("profile_unset_variable", &["4", "--run", "--topic", topic][..]),
        ("profile_typo", &["4", "--run", "--topic", topic][..]),
        ("profile_missing", &["4", "--run", "--topic", topic][..]),
    ] {
        let profile = match name {
            "profile_by_address" => "by-address",
            "profile_stranger_ca" => "stranger",
            "profile_wrong_password" => "guessing",
            "profile_unset_variable" => "unset",
            "profile_typo" => "typo",
            "profile_missing" => "cloud",
            _ => "local",
        };
        for (lang, name) in common::in_both_languages(name) {
            let args: Vec<&str> = ["--lang", lang].iter().chain(args).copied().collect();
            snapshot!(name, s.through(profile, &args, 2)?.stderr);
        }
    }
    std::fs::remove_file(s.l.config.dir.join("profiles.yml"))?;
    std::fs::remove_file(s.l.config.dir.join("stranger-ca.pem"))?;
    Ok(())
}
