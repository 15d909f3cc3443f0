//! Lesson 11: a broker behind TLS, SCRAM users and ACLs, and every door tried as an attacker would.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rdkafka::error::RDKafkaErrorCode as Code;

use super::broker::{SecureBroker, SERVICE};
use super::doors;
use super::secrets::{self, Secrets};
use super::{certs, User, GROUP, OTHER_TOPIC, TOPIC};
use crate::kafka::connection::{Connection, Verdict};
use crate::lesson::{Context, Fact, Info, Lesson, Needs, Undo};

pub const TEXT: &str = include_str!("l11_secure.md");
/// A group no ACL names.
const STRANGE_GROUP: &str = "secure-intruders";

pub struct Secure;

impl Lesson for Secure {
    const INFO: Info = Info {
        id: 11,
        slug: "secure",
        title: n!("Secure the broker: TLS, users and ACLs"),
        hint: n!("\
Run `lesson 11 --run`: it makes the certificates, passwords and client settings in secure/, starts the secure
broker and creates its users and ACLs. Then, in secure/, write to secure-orders with kcat -F writer.conf and
read it with kcat -F reader.conf in the group secure-readers, and try what should fail: the chapter lists
each door."),
        needs: Needs { own_stack: true, ..Needs::NOTHING },
        requires: &[],
    };

    fn explain(&self, _ctx: &Context) -> String {
        crate::ui::markdown::lesson(TEXT, &[])
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let secure = SecureBroker::connect(&ctx.config).await?;
        let step = |line: String| crate::ui::progress::print(&line);
        let made = !certs::present(&secure.dir);
        if !made {
            step(t!(
                "Kept the certificates in {path}.",
                path = certs::folder(&secure.dir).display()
            ));
        } else {
            certs::write(&secure.dir)?;
            step(t!(
                "Made a certificate authority ({ca}; its key was not kept) and the broker's certificate for localhost \
                 and kafka ({broker}).",
                ca = certs::ca_file(&secure.dir).display(),
                broker = certs::broker_file(&secure.dir).display()
            ));
        }
        let secrets = match Secrets::load(&secure.dir)? {
            Some(secrets) => {
                step(t!(
                    "Kept the passwords in {path}.",
                    path = secrets::file(&secure.dir).display()
                ));
                secrets
            }
            None => {
                let secrets = Secrets::new()?;
                secrets.save(&secure.dir)?;
                step(t!(
                    "Made a password for each of admin, writer and reader: {path}, readable by you alone.",
                    path = secrets::file(&secure.dir).display()
                ));
                secrets
            }
        };
        if let Some(note) = secure.write_files()? {
            step(note);
        }
        let plain_changed = secrets::write_plain_file(&secure.dir, &secrets)?;
        // A broker reads its certificate and its PLAIN users when it starts: one already running is started anew
        // when they are new.
        let recreate: &[&str] = if made || plain_changed { &["--force-recreate"] } else { &[] };
        secure.compose.up_with(recreate).await?;
        step(format!("$ cd {} && {} up -d", super::broker::FOLDER, secure.compose.cli.name()));
        let kafka = secure.healthy().await?;
        secure.administer(&kafka, &secrets).await?;
        step(t!(
            "Created the topics {topic} and {other}, the users admin, writer and reader ({mechanism}), and the ACLs: \
             writer may write to {topic}, reader may read it in the group {group}.",
            topic = TOPIC,
            other = OTHER_TOPIC,
            mechanism = super::MECHANISM,
            group = GROUP
        ));
        // The broker learns a new password from ZooKeeper a moment after it is set.
        let start = Instant::now();
        crate::ui::progress::while_running(t!("the broker to know the users"), async {
            for who in User::ALL {
                loop {
                    let verdict = doors::connect(&user(&secure, &secrets, who)).await?;
                    if verdict.admitted() {
                        break;
                    }
                    if start.elapsed() > crate::stack::ready_timeout() {
                        bail!(t!(
                            "The broker still refuses {user} after {seconds} s: {reason}",
                            user = who.name(),
                            seconds = start.elapsed().as_secs(),
                            reason = verdict.reason()
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            Ok(())
        })
        .await?;
        for who in [User::Writer, User::Reader] {
            secrets::write_client_file(&secure.dir, who, &user(&secure, &secrets, who))?;
        }
        Ok(t!(
            "The secure broker listens on {bootstrap} (SASL_SSL). writer.conf and reader.conf in {dir} hold each user's \
             client settings for kcat -F (readable by you alone); secrets.env, the passwords.\nTry every door: lesson \
             check 11",
            bootstrap = secure.bootstrap(),
            dir = secure.dir.display()
        )
        .to_string())
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let secure = SecureBroker::connect(&ctx.config).await?;
        let containers = secure.containers().await?;
        if !containers.iter().any(|c| c.service == SERVICE && c.running()) {
            return Ok(vec![Fact::fail(
                t!("The secure broker runs"),
                t!("Start it: lesson 11 --run"),
            )]);
        }
        let Some(secrets) = Secrets::load(&secure.dir)? else {
            return Ok(vec![Fact::fail(
                t!(
                    "{path} holds the users' passwords",
                    path = secrets::file(&secure.dir).display()
                ),
                t!("Make them and set them on the broker: lesson 11 --run"),
            )]);
        };
        if !certs::present(&secure.dir) {
            return Ok(vec![Fact::fail(
                t!("{path} holds the certificates", path = certs::folder(&secure.dir).display()),
                t!("To make new ones: lesson 11 --run (the broker starts again with them)"),
            )]);
        }
        secure.healthy().await?;
        let mut facts = vec![published(&secure, &containers)];
        facts.extend(doors(&secure, &secrets).await?);
        facts.push(no_secret_shown(&secure, &secrets, &containers));
        Ok(facts)
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let dir = ctx.config.dir.join(super::broker::FOLDER);
        dir.exists().then(|| Undo {
            does: t!(
                "removes the secure broker, its volumes and {path} (certificates, passwords, compose file)",
                path = dir.display()
            )
            .to_string(),
            loses: Some(t!("the records of {topic} and {other}", topic = TOPIC, other = OTHER_TOPIC).to_string()),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let secure = SecureBroker::connect(&ctx.config).await?;
        if secure.compose.file.exists() {
            secure.down().await?;
        }
        if secure.dir.exists() {
            std::fs::remove_dir_all(&secure.dir).map_err(|e| {
                anyhow::anyhow!(t!(
                    "Failed to remove {path}: {error}",
                    path = secure.dir.display(),
                    error = e
                ))
            })?;
        }
        Ok(t!("Removed the secure broker and {path}.", path = secure.dir.display()).to_string())
    }
}

fn user(secure: &SecureBroker, secrets: &Secrets, who: User) -> Connection {
    doors::user(
        &secure.bootstrap(),
        &certs::ca_file(&secure.dir),
        who.name(),
        secrets.password(who),
    )
}

/// Only the SASL_SSL port is published, and only on this machine.
fn published(secure: &SecureBroker, containers: &[crate::stack::engine::Container]) -> Fact {
    let expected = format!("127.0.0.1:{}->9093/tcp", secure.port);
    let mut open: Vec<String> = containers
        .iter()
        .flat_map(|c| c.ports.iter().map(move |p| format!("{} {p}", c.service)))
        .collect();
    open.sort();
    let ok = open == [format!("{SERVICE} {expected}")];
    Fact::check(
        ok,
        t!("Only the SASL_SSL port is published, on 127.0.0.1: {port}", port = secure.port),
        t!(
            "Published now: {open}. Publish only the broker's SECURE listener, as 127.0.0.1:{port}:9093; the loopback \
             listener and ZooKeeper stay inside (the workshop's file: lesson 11 --run writes it beside yours)",
            open = if open.is_empty() { t!("nothing").to_string() } else { open.join(", ") },
            port = secure.port
        ),
    )
}

/// One door: what it is, what it did, and whether that is what it should do.
fn door(what: impl Into<String>, verdict: &Verdict, ok: bool, fix: impl Into<String>) -> Fact {
    if ok {
        Fact::pass(what)
    } else {
        let was = t!("It was: {verdict}.", verdict = verdict.reason());
        let fix = if verdict.refused_with(&[Code::Authentication]) {
            t!("The broker refused the password in secure/secrets.env: lesson 11 --run sets every password again.")
                .to_string()
        } else {
            fix.into()
        };
        Fact::fail(what, format!("{was} {fix}"))
    }
}

async fn doors(secure: &SecureBroker, secrets: &Secrets) -> Result<Vec<Fact>> {
    let bootstrap = secure.bootstrap();
    let writer = user(secure, secrets, User::Writer);
    let reader = user(secure, secrets, User::Reader);
    let mut facts = Vec::new();

    let verdict = doors::connect(&Connection::plaintext(&bootstrap)).await?;
    facts.push(door(
        t!("A client without TLS is refused"),
        &verdict,
        verdict.refused_with(&[Code::BrokerTransportFailure]),
        t!("The port speaks plaintext: map the SECURE listener to SASL_SSL in KAFKA_LISTENER_SECURITY_PROTOCOL_MAP."),
    ));

    let stranger = Connection {
        ca_file: None,
        ca_pem: Some(certs::make("Another authority", &certs::NAMES)?.ca),
        ..writer.clone()
    };
    let verdict = doors::connect(&stranger).await?;
    facts.push(door(
        t!("A client that trusts another certificate authority is refused"),
        &verdict,
        verdict.certificate_refused(),
        t!("The broker's certificate must be signed by secure/tls/ca.pem alone. To make both anew: delete secure/tls/, \
            then lesson 11 --run (the broker starts again with the new certificate)."),
    ));

    let by_address =
        Connection { bootstrap: format!("127.0.0.1:{}", secure.port), ..writer.clone() };
    let verdict = doors::connect(&by_address).await?;
    facts.push(door(
        t!("A client that dials 127.0.0.1, a name the certificate does not hold, is refused"),
        &verdict,
        verdict.certificate_refused(),
        t!("The certificate must name localhost and kafka only, and clients must check it (ssl.endpoint.identification.algorithm=https)."),
    ));

    let mut guessing = writer.clone();
    if let Some(login) = &mut guessing.login {
        login.password = "not-the-password".into();
    }
    let verdict = doors::connect(&guessing).await?;
    facts.push(door(
        t!("A wrong password is refused"),
        &verdict,
        verdict.refused_with(&[Code::Authentication]),
        t!("The listener must ask for SCRAM-SHA-512 (KAFKA_SASL_ENABLED_MECHANISMS and its JAAS setting)."),
    ));

    let written = doors::produce(&writer, TOPIC, "written by lesson check 11").await?;
    facts.push(door(
        t!("writer writes to {topic}", topic = TOPIC),
        &written,
        written.admitted(),
        t!("Set the users and ACLs again: lesson 11 --run"),
    ));

    let verdict = doors::produce(&writer, OTHER_TOPIC, "should be refused").await?;
    facts.push(door(
        t!("writer is refused on {topic}", topic = OTHER_TOPIC),
        &verdict,
        verdict.refused_with(&[Code::TopicAuthorizationFailed]),
        t!("No ACL may allow writer more than {topic}, and allow.everyone.if.no.acl.found must be false.", topic = TOPIC),
    ));

    let offset = match written {
        Verdict::Admitted(offset) => offset,
        Verdict::Refused(..) => None,
    };
    let verdict = doors::consume(&reader, GROUP, TOPIC, offset).await?;
    facts.push(door(
        t!("reader reads {topic} in the group {group}", topic = TOPIC, group = GROUP),
        &verdict,
        verdict.admitted(),
        t!("Set the users and ACLs again: lesson 11 --run"),
    ));

    let verdict = doors::consume(&reader, STRANGE_GROUP, TOPIC, None).await?;
    facts.push(door(
        t!("reader is refused in another group, {group}", group = STRANGE_GROUP),
        &verdict,
        verdict.refused_with(&[Code::GroupAuthorizationFailed]),
        t!("No ACL may allow reader a group other than {group}.", group = GROUP),
    ));

    let verdict = doors::consume(&reader, GROUP, OTHER_TOPIC, None).await?;
    facts.push(door(
        t!("reader is refused on {topic}", topic = OTHER_TOPIC),
        &verdict,
        verdict.refused_with(&[Code::TopicAuthorizationFailed]),
        t!("No ACL may allow reader a topic other than {topic}.", topic = TOPIC),
    ));
    Ok(facts)
}

/// No password in the compose file, its `.env` or the containers' environment; `secrets.env` yours alone.
fn no_secret_shown(
    secure: &SecureBroker,
    secrets: &Secrets,
    containers: &[crate::stack::engine::Container],
) -> Fact {
    let mut places = Vec::new();
    for path in [secure.compose.file.clone(), secure.dir.join(".env")] {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if secrets.all().any(|p| text.contains(p)) {
            places.push(path.display().to_string());
        }
    }
    for c in containers {
        if c.env.0.iter().any(|e| secrets.all().any(|p| e.contains(p))) {
            places.push(t!("the environment of {service}", service = c.service).to_string());
        }
    }
    for file in [secrets::file(&secure.dir)]
        .into_iter()
        .chain(User::ALL.map(|u| secrets::client_file(&secure.dir, u)))
    {
        if file.exists() && !super::files::private(&file) {
            places.push(t!("{path}, which others can read", path = file.display()).to_string());
        }
    }
    // The broker's user reads the PLAIN users file: its folder keeps everyone else out.
    let tls = certs::folder(&secure.dir);
    if secrets::plain_file(&secure.dir).exists() && !super::files::private(&tls) {
        places.push(t!("{path}, which others can read", path = tls.display()).to_string());
    }
    Fact::check(
        places.is_empty(),
        t!("No password is in the compose file, its .env or the containers' environment, and the files that hold them are yours alone"),
        t!(
            "A password is in {places}. Remove it from there (chmod 600 for the files in secure/; on WSL, keep the \
             folder in Linux's own files: under /mnt/c permissions do not hold); the broker needs none in its \
             environment: it keeps the SCRAM hashes in ZooKeeper.",
            places = places.join(", ")
        ),
    )
}
