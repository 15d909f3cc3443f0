//! What each command does. Ctrl-C stops any of them cleanly: a stack that was being started is taken
//! down again (its volumes, and everything in the learner's directory, are kept).

use std::process::ExitCode;

use anyhow::Result;

use super::cli::{Cli, ClusterAction, CollectAction, Command, Workspace};
use super::{doctor, list, report, reset, tour, watch};
use crate::catalog;
use crate::lesson::{all_pass, Context, Info, Options};
use crate::stack::compose::Compose;
use crate::stack::config::StackConfig;
use crate::stack::engine::Engine;
use crate::stack::track::Track;
use crate::ui::progress::reporting;
use crate::ui::text::shell_word;

pub const INTERRUPTED: u8 = 130;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    cli.refuse_mixed()?;
    let starts_stack =
        matches!(cli.command, Some(Command::Tour { .. })) || (cli.run && starts_stack(&cli.lesson));
    let collecting = matches!(cli.command, Some(Command::Collect { .. }))
        || cli.run
            && cli
                .lesson
                .as_deref()
                .and_then(|l| catalog::find(l).ok())
                .is_some_and(|l| l.info().id == 7);
    // The cluster lesson a Ctrl-C would interrupt: `lesson cluster kill` is lesson 8's.
    let on_cluster = match (&cli.command, cli.run) {
        (Some(Command::Cluster { action: ClusterAction::Prepare }), _) => Some(10),
        (Some(Command::Cluster { .. }), _) => Some(8),
        (None, true) => cli
            .lesson
            .as_deref()
            .and_then(|l| catalog::find(l).ok())
            .filter(|l| l.info().needs.cluster)
            .map(|l| l.info().id),
        _ => None,
    };
    let workspace = cli.workspace.clone();
    let from_stdin = matches!(cli.command, Some(Command::Collect { .. }))
        && cli.workspace.events.as_ref().is_some_and(|events| events.as_os_str() == "-");
    let producing = matches!(
        cli.command,
        Some(Command::Cluster { action: ClusterAction::Produce | ClusterAction::Consume { .. } })
    );
    if matches!(cli.command, Some(Command::Watch { .. })) || from_stdin || producing {
        // Ctrl-C is how watching ends, with nothing to undo; standard input ends on it, and what was
        // read is still sent (it cannot be read again); lesson 8's producer waits for the answers due, and
        // lesson 9's reader commits and leaves its group.
        return dispatch(cli).await;
    }
    tokio::select! {
        outcome = dispatch(cli) => outcome,
        _ = tokio::signal::ctrl_c() => interrupted(&workspace, starts_stack, collecting, on_cluster).await,
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let ws = &cli.workspace;
    let color = report::color();
    if !matches!(
        cli.command,
        None | Some(
            Command::Check { .. }
                | Command::Book { .. }
                | Command::Hint { .. }
                | Command::Collect { .. }
                | Command::Reset { .. }
                | Command::Cluster { action: ClusterAction::Consume { .. } }
        )
    ) {
        refuse_profile(ws, None)?;
    }
    match cli.command {
        Some(Command::Check { lesson, json, volumes }) => {
            let lesson = catalog::find(&lesson)?;
            let info = lesson.info();
            refuse_collect_flags(ws, info)?;
            refuse_profile(ws, Some(info))?;
            let ctx = context(ws, volumes, false)?;
            reach_profile().await?;
            let facts = lesson.check(&ctx).await?;
            if json {
                println!("{}", report::json(info, &facts));
            } else {
                let next = catalog::next(info, ctx.config.track);
                print!("{}", report::facts(info, &facts, next, color));
            }
            Ok(done(all_pass(&facts)))
        }
        Some(Command::Book { lesson }) => {
            let info = lesson.as_deref().map(catalog::find).transpose()?.map(|l| l.info());
            println!("{}", super::book::page(info));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Hint { lesson }) => {
            let lesson = catalog::find(&lesson)?;
            let info = lesson.info();
            let track = stack_config(ws)?.track;
            let (id, title) = (info.id, crate::ui::lang::tr(info.title));
            println!("{}", t!("Hint for lesson {id} · {title}", id, title));
            println!("{}", crate::ui::lang::tr(lesson.hint(track)).trim_start());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::List { json }) => {
            let ctx = context(ws, false, false)?;
            let rows = list::rows(&ctx).await?;
            let text = if json {
                list::json(&rows, &ctx.config.project, ctx.config.track)
            } else {
                list::text(&rows, &ctx.config.project, ctx.config.track, color)
            };
            println!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Doctor { json }) => {
            let ctx = context(ws, false, false)?;
            let facts = doctor::facts(&ctx.config).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&facts)?);
            } else {
                println!("{}", report::fact_lines(&facts, color).trim_end());
                let verdict = if all_pass(&facts) {
                    t!("Ready for the workshop: lesson 1")
                } else {
                    t!("Fix each ✗ above, then run lesson doctor again.")
                };
                println!("\n{verdict}");
            }
            Ok(done(all_pass(&facts)))
        }
        Some(Command::Collect { action }) => collect(ws, action).await,
        Some(Command::Cluster { action }) => {
            refuse_lesson_flags(ws)?;
            let ctx = context(ws, false, false)?;
            reach_profile().await?;
            let said = match action {
                ClusterAction::Produce => {
                    let start = ctx.options.command("8 --run", crate::lesson::Needs::NOTHING);
                    let then = t!("produce");
                    let cluster =
                        crate::cluster::Cluster::started(&ctx.config, &start, then).await?;
                    let ledger = crate::cluster::ledger::path(&cluster.dir);
                    let check = ctx.options.command("check 8", crate::lesson::Needs::NOTHING);
                    crate::cluster::produce::keep_producing(&cluster.bootstrap(), &ledger, &check)
                        .await?
                }
                ClusterAction::Kill { broker } => {
                    crate::cluster::l08_replication::kill(&ctx, broker.as_deref()).await?
                }
                ClusterAction::Prepare => crate::cluster::l10_migrate::prepare(&ctx).await?,
                ClusterAction::Consume { name, rate } => {
                    let start = ctx.options.command("9 --run", crate::lesson::Needs::NOTHING);
                    let check = ctx.options.command("check 9", crate::lesson::Needs::NOTHING);
                    let cluster = match ctx.profile() {
                        Some(_) => None,
                        None => Some(
                            crate::cluster::Cluster::started(&ctx.config, &start, t!("consume"))
                                .await?,
                        ),
                    };
                    let bootstrap = match &cluster {
                        Some(cluster) => cluster.bootstrap(),
                        None => ctx.config.bootstrap(),
                    };
                    crate::cluster::group::keep_consuming(
                        cluster.as_ref(),
                        &bootstrap,
                        name,
                        rate,
                        &start,
                        &check,
                    )
                    .await?
                }
            };
            println!("{said}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Reset { lesson, yes }) => {
            let all = lesson == "all";
            let id = if all { 1 } else { catalog::find(&lesson)?.info().id };
            // Through a profile, a reset that undoes only lessons that work through one.
            if all {
                refuse_profile(ws, None)?;
            }
            let asked = catalog::LESSONS.iter().find(|l| l.info().id == id).map(|l| l.info());
            refuse_profile(ws, asked)?;
            for lesson in reset::affected(id) {
                refuse_profile(ws, Some(lesson.info()))?;
            }
            let ctx = context(ws, false, false)?;
            reach_profile().await?;
            println!("{}", reset::reset(&ctx, id, all, yes).await?);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Watch { lesson }) => {
            let from = lesson.as_deref().map(catalog::find).transpose()?;
            let finished = watch::watch(&context(ws, false, false)?, from, color).await?;
            Ok(if finished { ExitCode::SUCCESS } else { ExitCode::from(INTERRUPTED) })
        }
        Some(Command::Tour { volumes }) => {
            Ok(done(tour::tour(&context(ws, volumes, false)?, color).await?))
        }
        None => match &cli.lesson {
            None => {
                // `lesson --track kraft` alone switches the folder, and says so.
                if ws.track.is_some() {
                    stack_config(ws)?;
                }
                println!("{}", overview());
                Ok(ExitCode::SUCCESS)
            }
            Some(lesson) => {
                let lesson = catalog::find(lesson)?;
                refuse_collect_flags(ws, lesson.info())?;
                if cli.run {
                    refuse_profile(ws, Some(lesson.info()))?;
                }
                let ctx = context(ws, cli.volumes, cli.native)?;
                if cli.run {
                    reach_profile().await?;
                    let info = lesson.info();
                    let general = t!(
                        "lesson {id} ({title}) to finish",
                        id = info.id,
                        title = crate::ui::lang::tr(info.title)
                    );
                    println!("{}", reporting(&general, lesson.run(&ctx)).await?.trim_end());
                    let check = check_command(lesson.info(), &ctx.options);
                    println!("\n{}", t!("Now check it: {check}", check));
                } else {
                    let body = lesson.explain(&ctx);
                    print!("{}", report::explanation(lesson.info(), &body, catalog::LESSONS.len()));
                }
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

async fn collect(ws: &Workspace, action: CollectAction) -> Result<ExitCode> {
    let mut ws = ws.clone();
    let from_stdin = ws.events.as_ref().is_some_and(|events| events.as_os_str() == "-");
    if matches!(action, CollectAction::Ingest { watch: Some(_) }) && from_stdin {
        anyhow::bail!(t!(
            "--watch watches the events file, and --events - reads standard input: give one of them (events \
             piped in stream as they arrive without --watch)."
        ));
    }
    if let CollectAction::Ingest { watch: Some(Some(folder)) } = &action {
        let same = |source: &std::path::PathBuf| absolute(source).ok() == absolute(folder).ok();
        if ws.source.as_ref().is_some_and(|source| !same(source)) {
            anyhow::bail!(t!(
                "--watch {folder} and --source {source} name two folders: lesson 7 collects one. Give one of them.",
                folder = folder.display(),
                source = ws.source.as_ref().map(|s| s.display().to_string()).unwrap_or_default()
            ));
        }
        ws.source = Some(folder.clone());
    }
    let ctx = context(&ws, false, false)?;
    reach_profile().await?;
    let capstone = match action {
        CollectAction::Ingest { watch: None } => crate::capstone::Capstone::for_ingest(&ctx)?,
        _ => crate::capstone::Capstone::of(&ctx)?,
    };
    let names = &capstone.names;
    let defaults = crate::lesson::Options::default();
    if ws.topic != defaults.topic || ws.group != defaults.group {
        anyhow::bail!(t!(
            "--topic and --group are for lessons 4 and 5. Lesson 7's topics and group are named after your folder, so \
             that two folders never share them: {files}, {events} and the group {group}. Run the command again without \
             them.",
            files = names.files,
            events = names.events,
            group = names.group
        ));
    }
    let bootstrap = capstone.ready(&ctx).await?;
    match action {
        CollectAction::Ingest { watch: Some(_) } => {
            crate::capstone::watch::watch(&capstone, &bootstrap).await?;
            Ok(ExitCode::SUCCESS)
        }
        CollectAction::Ingest { watch: None } => {
            let report = capstone.ingest(&bootstrap).await?;
            print!("{}", report.summary());
            Ok(done(report.refused.is_empty()))
        }
        CollectAction::Sink { until_caught_up } => {
            let report = capstone.sink(&bootstrap, until_caught_up).await?;
            print!("{}", report.summary(&capstone));
            Ok(done(report.is_clean()))
        }
    }
}

async fn interrupted(
    workspace: &Workspace,
    starts_stack: bool,
    collecting: bool,
    on_cluster: Option<u8>,
) -> Result<ExitCode> {
    eprintln!("\n{}", t!("Interrupted."));
    if starts_stack {
        let config = stack_config(workspace)?;
        let compose = Compose::for_config(&config).await?;
        let engine = Engine::connect().await?;
        // A container the engine was still creating when compose was stopped can appear after a first
        // `down`; poll until none is left.
        for _ in 0..20 {
            compose.down(false).await?;
            if engine.containers(&config.project).await?.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        eprintln!(
            "{}",
            t!("The stack that was starting is stopped and removed; its volumes and your files are kept.\n\
                Start again with: lesson 2 --run")
        );
    } else if collecting {
        eprintln!(
            "{}",
            t!("Stopped. Every file stored so far is complete and verified (a file is stored only whole), and what\n\
                was sent or half-rebuilt is kept: run the same command again. The collector sends what storage\n\
                still lacks, and the sink goes on where it stopped.")
        );
    } else if on_cluster == Some(9) {
        eprintln!(
            "{}",
            t!(
                "Stopped. The lesson's readers stopped with it, without leaving their group: the group drops them \
                 within 10 s. Then run it again: lesson 9 --run{flags}",
                flags = workspace_flags(workspace)
            )
        );
    } else if on_cluster == Some(10) {
        eprintln!(
            "{}",
            t!("Stopped. The cluster is where the last step left it, mid-migration maybe: lesson check 10 names its \
                phase and the next step, and lesson 10 --run goes on from there.")
        );
    } else if on_cluster.is_some() {
        eprintln!(
            "{}",
            t!("Stopped. A broker killed before stays down until started again: lesson 8 --run starts the whole \
                cluster (or, in its folder: docker compose up -d).")
        );
    } else {
        eprintln!(
            "{}",
            t!("Nothing was changed that the lesson had not finished; run the command again when ready.")
        );
    }
    Ok(ExitCode::from(INTERRUPTED))
}

fn starts_stack(lesson: &Option<String>) -> bool {
    lesson
        .as_deref()
        .and_then(|l| catalog::find(l).ok())
        .is_some_and(|l| l.info().needs.starts_stack)
}

fn done(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The learner's folder, project and ports, on the track `--track` chose (which the folder then remembers,
/// saying so once) or the one it remembers.
fn stack_config(workspace: &Workspace) -> Result<StackConfig> {
    let (dir, project) = (workspace.dir.as_deref(), workspace.project.as_deref());
    let config = StackConfig::on_track(dir, project, workspace.track)?;
    // A folder that does not exist yet gets its track from lesson 1, which creates it.
    if let Some(track) = workspace.track.filter(|_| config.dir.is_dir()) {
        let before = Track::remembered(&config.dir).ok();
        if before != Some(track) {
            track.remember(&config.dir)?;
            eprintln!("{}\n", track.switched(before, &config.dir));
        }
    }
    Ok(config)
}

fn context(workspace: &Workspace, volumes: bool, native: bool) -> Result<Context> {
    let config = stack_config(workspace)?;
    if let Some(name) = &workspace.profile {
        crate::kafka::profile::install(crate::kafka::profile::load(&config.dir, name)?);
    }
    let options = Options {
        topic: workspace.topic.clone(),
        partitions: workspace.partitions,
        replication_factor: workspace.replication_factor,
        group: workspace.group.clone(),
        volumes,
        native,
        workspace_flags: workspace_flags(workspace),
        collect_flags: collect_flags(workspace)?,
        storage: storage(workspace)?,
        source: workspace.source.as_deref().map(absolute).transpose()?,
        events: workspace.events.as_deref().map(absolute).transpose()?,
    };
    Ok(Context::new(config, options))
}

/// `--storage` as given, a folder made absolute from the current directory, as the shell that typed it meant it.
fn storage(workspace: &Workspace) -> Result<Option<String>> {
    let Some(text) = &workspace.storage else { return Ok(None) };
    if text.is_empty() || text.contains("://") {
        return Ok(Some(text.clone()));
    }
    Ok(Some(absolute(std::path::Path::new(text))?.display().to_string()))
}

/// `--source`, `--events` and `--storage` are lesson 7's: given to another lesson, they would be carried
/// into its suggested commands and mean nothing there.
fn refuse_collect_flags(workspace: &Workspace, info: &Info) -> Result<()> {
    let given = [
        ("--source", workspace.source.is_some()),
        ("--events", workspace.events.is_some()),
        ("--storage", workspace.storage.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
        if !info.needs.collects {
            anyhow::bail!(t!(
                "{flag} is lesson 7's: lesson {id} collects nothing. Run the command again without it.",
                flag,
                id = info.id
            ));
        }
    }
    Ok(())
}

/// With --profile, only the lessons that need nothing but Kafka: the others start, stop or look into
/// containers, which a Kafka run elsewhere does not have.
fn refuse_profile(workspace: &Workspace, info: Option<&Info>) -> Result<()> {
    let Some(name) = &workspace.profile else { return Ok(()) };
    if info.is_some_and(|info| info.needs.any_kafka) {
        return Ok(());
    }
    let what = match info {
        Some(info) => {
            t!("Lesson {id} ({title})", id = info.id, title = crate::ui::lang::tr(info.title))
        }
        None => t!("This command").to_string(),
    };
    let through: Vec<String> = catalog::LESSONS
        .iter()
        .map(|lesson| lesson.info())
        .filter(|info| info.needs.any_kafka)
        .map(|info| info.id.to_string())
        .collect();
    anyhow::bail!(t!(
        "{what} works on your Docker stack: containers to start, stop or look into. Profile `{name}` is a Kafka \
         run elsewhere, with none of that. Through a profile: lessons {through} (lesson --profile {name} 4 --run). \
         Without --profile, it works on your stack.",
        what,
        name,
        through = through.join(", ")
    ))
}

/// The profile's Kafka answers and lets it in, before a lesson works through it.
async fn reach_profile() -> Result<()> {
    match crate::kafka::profile::current() {
        Some(profile) => crate::kafka::profile::reach(profile).await,
        None => Ok(()),
    }
}

/// The cluster's commands work on lesson 8's topic: a `--topic` (or another lesson's flag) would be ignored.
fn refuse_lesson_flags(workspace: &Workspace) -> Result<()> {
    let defaults = Options::default();
    let given = [
        ("--topic", workspace.topic != defaults.topic),
        ("--group", workspace.group != defaults.group),
        ("--partitions", workspace.partitions != defaults.partitions),
        ("--replication-factor", workspace.replication_factor != defaults.replication_factor),
        ("--source", workspace.source.is_some()),
        ("--events", workspace.events.is_some()),
        ("--storage", workspace.storage.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
        anyhow::bail!(t!(
            "{flag} is not for lesson cluster: its commands work on topics of their own (produce and kill on \
             {topic}, consume on {group_topic} as group {group}). Run the command again without it.",
            flag,
            topic = crate::cluster::TOPIC,
            group_topic = crate::cluster::group::TOPIC,
            group = crate::cluster::group::GROUP
        ));
    }
    Ok(())
}

/// `lesson check N`, with every option the learner gave that the check needs to look at the same things.
pub fn check_command(info: &Info, options: &Options) -> String {
    options.command(&format!("check {}", info.id), info.needs)
}

/// ` --dir D --project P`, as the learner gave them.
fn workspace_flags(workspace: &Workspace) -> String {
    let mut flags = String::new();
    if let Some(dir) = &workspace.dir {
        flags += &format!(" --dir {}", shell_word(&dir.display().to_string()));
    }
    if let Some(project) = &workspace.project {
        flags += &format!(" --project {}", shell_word(project));
    }
    if let Some(profile) = &workspace.profile {
        flags += &format!(" --profile {}", shell_word(profile));
    }
    flags
}

/// ` --storage U --source S --events E`, as the learner gave them, folders and files absolute.
fn collect_flags(workspace: &Workspace) -> Result<String> {
    let mut flags = String::new();
    if let Some(storage) = storage(workspace)? {
        flags += &format!(" --storage {}", shell_word(&storage));
    }
    for (flag, path) in [("--source", &workspace.source), ("--events", &workspace.events)] {
        // Standard input is read once: no other command takes --events -.
        if let Some(path) = path.as_ref().filter(|path| path.as_os_str() != "-") {
            flags += &format!(" {flag} {}", shell_word(&absolute(path)?.display().to_string()));
        }
    }
    Ok(flags)
}

/// `path` from the current directory, as the shell that typed it meant it.
fn absolute(path: &std::path::Path) -> Result<std::path::PathBuf> {
    Ok(std::path::absolute(path)?)
}

fn overview() -> String {
    let mut out = format!(
        "{}\n\n",
        t!("The Kafka workshop. Each lesson explains what to do; --run does it; check verifies it.")
    );
    for i in catalog::infos() {
        out += &format!("  lesson {:<2}  {:<16} {}\n", i.id, i.slug, crate::ui::lang::tr(i.title));
    }
    out += "\n";
    out += t!(
        "New here? lesson doctor checks your machine, lesson tour shows every lesson end to end,\n\
               and lesson 1 starts the workshop."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u8) -> &'static Info {
        catalog::infos().find(|i| i.id == id).expect("the catalog has this lesson")
    }

    #[test]
    fn check_command_repeats_what_the_learner_chose() {
        let defaults = Options::default();
        assert_eq!(check_command(info(4), &defaults), "lesson check 4");
        let chosen = Options {
            topic: "t".into(),
            partitions: 6,
            group: "g".into(),
            volumes: true,
            ..defaults
        };
        assert_eq!(check_command(info(4), &chosen), "lesson check 4 --topic t --partitions 6");
        assert_eq!(
            check_command(info(5), &chosen),
            "lesson check 5 --topic t --partitions 6 --group g"
        );
        assert_eq!(check_command(info(6), &chosen), "lesson check 6 --volumes");
        assert_eq!(check_command(info(1), &chosen), "lesson check 1");
        let elsewhere = Options {
            workspace_flags: " --dir /w".into(),
            collect_flags: " --source /s".into(),
            ..Options::default()
        };
        assert_eq!(check_command(info(2), &elsewhere), "lesson check 2 --dir /w");
        assert_eq!(check_command(info(7), &elsewhere), "lesson check 7 --source /s --dir /w");
    }

    #[test]
    fn flags_are_quoted_for_the_shell() {
        let workspace = |dir: &str| Workspace {
            dir: Some(dir.into()),
            project: None,
            profile: None,
            track: None,
            topic: String::new(),
            partitions: 1,
            replication_factor: 1,
            group: String::new(),
            storage: None,
            source: None,
            events: None,
        };
        assert_eq!(workspace_flags(&workspace("/home/ana/kafka")), " --dir /home/ana/kafka");
        let to_s3 = Workspace { storage: Some("s3://collect/run 1".into()), ..workspace("/w") };
        assert_eq!(workspace_flags(&to_s3), " --dir /w");
        assert_eq!(collect_flags(&to_s3).ok().as_deref(), Some(" --storage 's3://collect/run 1'"));
        let here = std::env::current_dir().map(|d| d.join("kept").display().to_string()).ok();
        let local = Workspace { storage: Some("kept".into()), ..workspace("/w") };
        assert_eq!(storage(&local).ok().flatten(), here);
        assert_eq!(
            workspace_flags(&workspace("/home/ana/meu kafka")),
            " --dir '/home/ana/meu kafka'"
        );
        assert_eq!(workspace_flags(&workspace("it's")), " --dir 'it'\\''s'");
    }
}
