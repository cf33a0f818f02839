//! Email delivery of the notification outbox (`db::models::notifications`): a sender thread,
//! started beside the release worker when SMTP is configured, claims due deliveries with a
//! lease, re-reads the item, writes a plain-text and an HTML message that links to the exact
//! item, hands it to the SMTP server (lettre, rustls), and records the outcome: `sent` once
//! the server accepted it, a retry with backoff on failure, `skipped` when the item was decided
//! before the message went out. It writes no table itself; the model functions do.
//!
//! Exactly once: a delivery is held by one sender at a time (the lease), and marked sent only by
//! its holder. A sender that dies between the server's acceptance and the mark leaves the row
//! pending; after the lease the message is sent again with the same `Message-ID`
//! (`<delivery_id@releasedesk>`), so a mail system or person can tell it is a repeat.
//!
//! The sender also raises the daily digests that are due (`preferences::raise_due_digests`,
//! once a minute) and sends each with what waits for its person at that moment, and
//! `send_test` sends the Account page's test email.

use std::time::{Duration, Instant};

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use crate::db::models::notifications::{self, Item, NotificationKind, Outgoing};
use crate::db::models::preferences::{self, DigestSection};
use crate::db::models::users;
use crate::db::{DbConn, Pool, now};
use crate::domain::{PackageStatus, RegionTaskStatus, StepStatus};
use crate::error::AppError;
use crate::worker::poller::Poller;

/// How often an idle sender looks for due deliveries.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long one SMTP command may wait at most; shortened to stay inside a short lease.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a sender raises the digests that are due.
pub const DIGEST_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// An SMTP server address (`smtp://host:port`, `smtps://…`, `smtp://…?tls=required`) with its
/// credentials. Its `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct SmtpUrl(url::Url);

impl SmtpUrl {
    /// Parses the address; `password` (`RELEASEDESK_SMTP_PASSWORD`) is used when the address
    /// names a user but no password.
    pub fn parse(raw: &str, password: Option<&str>) -> Result<SmtpUrl, String> {
        let mut url = url::Url::parse(raw).map_err(|e| format!("bad SMTP URL: {e}"))?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err("the SMTP URL must start with smtp:// or smtps://".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the SMTP URL names no host".into());
        }
        if let Some(pw) = password.filter(|p| !p.is_empty())
            && url.password().is_none()
        {
            if url.username().is_empty() {
                return Err(
                    "RELEASEDESK_SMTP_PASSWORD is set but the SMTP URL names no user".into(),
                );
            }
            url.set_password(Some(pw))
                .map_err(|()| "cannot add the password to the SMTP URL".to_string())?;
        }
        // Checks the scheme and `tls=` the way the transport will, without connecting.
        SmtpTransport::from_url(url.as_str()).map_err(|e| format!("bad SMTP URL: {e}"))?;
        Ok(SmtpUrl(url))
    }

    fn transport(
        &self,
        timeout: Duration,
    ) -> Result<SmtpTransport, lettre::transport::smtp::Error> {
        Ok(SmtpTransport::from_url(self.0.as_str())?
            .timeout(Some(timeout))
            .build())
    }
}

impl std::fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        write!(f, "{shown}")
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpUrl({self})")
    }
}

/// What the sender needs: the server, the From address and the origin links start with.
#[derive(Clone, Debug)]
pub struct Mail {
    pub smtp: SmtpUrl,
    pub from: Mailbox,
    /// `https://releases.example.com`, without a trailing slash.
    pub origin: String,
    /// How long a claimed delivery is reserved for this sender: the release worker's job lease
    /// (`--job-lease-seconds`), so a dead instance's deliveries are taken over as soon as its
    /// jobs are.
    pub lease_seconds: i64,
}

impl Mail {
    pub fn new(smtp: SmtpUrl, from: &str, origin: &str) -> Result<Mail, String> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("bad --mail-from {from:?}: {e}"))?;
        Ok(Mail {
            smtp,
            from,
            origin: origin.trim_end_matches('/').to_owned(),
            lease_seconds: notifications::LEASE_SECONDS,
        })
    }

    pub fn with_lease(self, lease_seconds: i64) -> Mail {
        Mail {
            lease_seconds: lease_seconds.max(2),
            ..self
        }
    }

    /// The SMTP timeout: inside the lease, so a sender gives up before another may take over.
    fn timeout(&self) -> Duration {
        SMTP_TIMEOUT.min(Duration::from_secs((self.lease_seconds - 1).max(1) as u64))
    }
}

/// Starts the email sender thread, which also raises the day's digests when they are due;
/// stopping it lets it finish the message in flight.
pub fn spawn_sender(pool: Pool, mail: Mail) -> Poller {
    let name = format!("mail-{}-{:08x}", std::process::id(), rand::random::<u32>());
    tracing::info!(smtp = %mail.smtp, "sending notification email");
    let mut digests_checked: Option<Instant> = None;
    Poller::spawn("mail-sender", "mail sender", POLL_INTERVAL, move || {
        let mut conn = pool.get()?;
        if digests_checked.is_none_or(|at| at.elapsed() >= DIGEST_CHECK_INTERVAL) {
            digests_checked = Some(Instant::now());
            if let Err(e) = preferences::raise_due_digests(&mut conn, now()) {
                tracing::warn!(error = %e, "raising digests");
            }
        }
        send_one(&mut conn, &mail, &name)
    })
}

/// Claims one due delivery as `sender` and sends (or skips, or reschedules) it. `Ok(false)`
/// when none was due.
pub fn send_one(conn: &mut DbConn, mail: &Mail, sender: &str) -> Result<bool, AppError> {
    let Some(claimed) = notifications::claim(conn, sender, mail.lease_seconds)? else {
        return Ok(false);
    };
    if claimed.attempts > notifications::MAX_ATTEMPTS {
        // Its earlier holders died or failed before recording an outcome, each time.
        let why = "gave up: no attempt recorded an outcome";
        notifications::retry_later(conn, claimed.id, sender, claimed.attempts, why)?;
        return Ok(true);
    }
    let out = notifications::outgoing(conn, claimed.id)?;
    if out.kind == NotificationKind::Digest {
        return send_digest(conn, mail, sender, &claimed, &out);
    }
    if let Some(why) = reason_not_to_send(&out) {
        notifications::skip(conn, claimed.id, sender, &why)?;
        return Ok(true);
    }
    let result = compose(&out, mail).and_then(|message| {
        mail.smtp
            .transport(mail.timeout())
            .and_then(|t| t.send(&message))
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(_) => {
            if !notifications::mark_sent(conn, claimed.id, sender)? {
                tracing::warn!(
                    delivery = %out.delivery_id,
                    "sent after this sender's lease ended; another sender may repeat it"
                );
            }
        }
        Err(e) => {
            let failed =
                notifications::retry_later(conn, claimed.id, sender, claimed.attempts, &e)?;
            tracing::warn!(delivery = %out.delivery_id, attempt = claimed.attempts, failed, error = %e, "email not sent");
        }
    }
    Ok(true)
}

/// Why an email should not go out now, if it should not.
fn reason_not_to_send(out: &Outgoing) -> Option<String> {
    if out.email.is_empty() {
        return Some("not sent: the person has no email address now".into());
    }
    out.stale()
}

/// The message's words, shared by its text and HTML parts.
struct Words {
    subject: String,
    /// What happened, and who asked.
    headline: String,
    /// What the person is asked to do there.
    todo: String,
    /// What changed since the event, when something did.
    update: Option<String>,
    link: String,
    link_label: &'static str,
    /// Why this person gets it, for the footer.
    why: &'static str,
}

#[derive(Template)]
#[template(path = "email/notification.txt")]
struct TextPart<'a> {
    name: &'a str,
    w: &'a Words,
    workspace: &'a str,
}

#[derive(Template)]
#[template(path = "email/notification.html")]
struct HtmlPart<'a> {
    name: &'a str,
    w: &'a Words,
    workspace: &'a str,
}

fn words(out: &Outgoing, origin: &str) -> Words {
    let ws = &out.workspace_name;
    let who = out.actor.as_deref().unwrap_or("releasedesk");
    match &out.item {
        Item::Package {
            id,
            name,
            status,
            applicant,
            decided_by,
            done,
            failed,
            tasks,
        } => {
            let link = format!(
                "{origin}{}",
                crate::paths::package(&out.workspace_slug, *id)
            );
            let decider = decided_by.as_deref().unwrap_or(who);
            let (subject, headline, todo, expected) = match out.kind {
                NotificationKind::ReviewRequested => (
                    format!("Review requested: package {name} in {ws}"),
                    format!("{who} asks you to review the release package “{name}” ({tasks} tasks)."),
                    "Open the package, read its tasks and their changes, then approve or reject it.".to_owned(),
                    PackageStatus::PendingApproval,
                ),
                NotificationKind::PackageApproved => (
                    format!("Approved: package {name} in {ws}"),
                    format!("{decider} approved your release package “{name}”; it is being released."),
                    "Nothing to do; follow its progress on the package page.".to_owned(),
                    PackageStatus::Releasing,
                ),
                NotificationKind::PackageRejected => (
                    format!("Rejected: package {name} in {ws}"),
                    format!("{decider} rejected your release package “{name}”."),
                    "Read the reviewer's comment on the package page, fix the tasks and release them again.".to_owned(),
                    PackageStatus::Rejected,
                ),
                NotificationKind::PackageReleased => (
                    format!("Released: package {name} in {ws}"),
                    format!("The release package “{name}” of {applicant} is released: {done} of {tasks} tasks."),
                    "Nothing to do; production shows the new versions.".to_owned(),
                    PackageStatus::Released,
                ),
                NotificationKind::PackageExpired => (
                    format!("Expired: package {name} in {ws}"),
                    format!("Your release package “{name}” waited for review past this workspace's approval expiry and expired; its tasks are pending again."),
                    "Release the tasks again from the Tasks tab when a reviewer can look at them, or ask a reviewer first.".to_owned(),
                    PackageStatus::Expired,
                ),
                NotificationKind::FreezeOverridden => (
                    format!("Freeze overridden: package {name} in {ws}"),
                    format!("{who} released the package “{name}” of {applicant} through a freeze window."),
                    "Open the package to read the reason given for the override.".to_owned(),
                    *status,
                ),
                NotificationKind::PackagePartiallyFailed => (
                    format!("Partially failed: package {name} in {ws}"),
                    format!("The release package “{name}” of {applicant} partially failed: {done} released, {failed} failed."),
                    "Open the package to see which tasks failed and why.".to_owned(),
                    PackageStatus::PartiallyFailed,
                ),
                _ => (
                    format!("Failed: package {name} in {ws}"),
                    format!("The release package “{name}” of {applicant} failed: {failed} of {tasks} tasks failed."),
                    "Open the package to see why its tasks failed.".to_owned(),
                    PackageStatus::Failed,
                ),
            };
            let update = (*status != expected).then(|| {
                format!(
                    "Since then the package has moved on: it is now {}.",
                    status.label().to_lowercase()
                )
            });
            Words {
                subject,
                headline,
                todo,
                update,
                link,
                link_label: "Open the package",
                why: if out.kind == NotificationKind::ReviewRequested {
                    "you were chosen to review the package"
                } else {
                    "you applied for the package or reviewed it"
                },
            }
        }
        Item::Checkpoint {
            task,
            task_name,
            position,
            kind,
            status,
            decision,
            ..
        } => {
            let link = format!(
                "{origin}{}#step-{position}",
                crate::paths::region_task(&out.workspace_slug, *task)
            );
            let step = format!("step {position}, a {},", kind.label());
            if out.kind == NotificationKind::CheckpointDecided {
                let (by, outcome) = decision
                    .as_ref()
                    .map(|(by, s)| (by.as_str(), *s))
                    .unwrap_or((who, *status));
                let (verb, next) = if outcome == StepStatus::Rejected {
                    ("rejected", "the release stopped there")
                } else {
                    ("agreed to", "the release goes on")
                };
                return Words {
                    subject: format!(
                        "{}: step {position} ({}) of {task_name} in {ws}",
                        outcome.label(),
                        kind.label()
                    ),
                    headline: format!(
                        "{by} {verb} {step} of the region release “{task_name}”: {next}."
                    ),
                    todo: "Nothing to do: the step needs no decision from you any more.".to_owned(),
                    update: None,
                    link,
                    link_label: "Open the step",
                    why: "the step names you, or you started the release",
                };
            }
            Words {
                subject: format!(
                    "Waiting for you: step {position} ({}) of {task_name} in {ws}",
                    kind.label()
                ),
                headline: format!(
                    "The region release “{task_name}”, started by {who}, waits at {step} which names you."
                ),
                todo: "Open the step, then agree to let the release continue, or reject it with a reason."
                    .to_owned(),
                update: (*status != StepStatus::Waiting).then(|| {
                    format!(
                        "Since then the step has moved on: it is now {}{}.",
                        status.label().to_lowercase(),
                        decision
                            .as_ref()
                            .map(|(by, _)| format!(" by {by}"))
                            .unwrap_or_default()
                    )
                }),
                link,
                link_label: "Open the step",
                why: "the step names you",
            }
        }
        Item::RegionTask {
            id,
            name,
            status,
            reason,
        } => {
            let why = reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let (subject, headline, todo, expected) = match out.kind {
                NotificationKind::RegionTaskReleased => (
                    format!("Released: region task {name} in {ws}"),
                    format!(
                        "The region release “{name}”, which you started, is released: every step succeeded."
                    ),
                    "Nothing to do; Release History shows what changed in each region.",
                    RegionTaskStatus::Released,
                ),
                NotificationKind::RegionTaskRolledBack => (
                    format!("Rolled back: region task {name} in {ws}"),
                    format!(
                        "The rollback of “{name}”, which you started, is done: its changes are undone."
                    ),
                    "Nothing to do; Release History shows what was restored.",
                    RegionTaskStatus::RolledBack,
                ),
                NotificationKind::FreezeOverridden => (
                    format!("Freeze overridden: region task {name} in {ws}"),
                    format!("{who} executed the region release “{name}” through a freeze window."),
                    "Open the task to read the reason given for the override.",
                    *status,
                ),
                NotificationKind::RegionTaskRollbackFailed => (
                    format!("Rollback failed: region task {name} in {ws}"),
                    format!("The rollback of “{name}”, which you started, failed{why}."),
                    "Open the task to see which components were not restored; roll back again once the cause is fixed.",
                    RegionTaskStatus::RollbackFailed,
                ),
                _ => (
                    format!("Release failed: region task {name} in {ws}"),
                    match out.actor.as_deref() {
                        Some(by) => format!(
                            "{by} stopped the region release “{name}”, which you started{why}."
                        ),
                        None => {
                            format!("The region release “{name}”, which you started, failed{why}.")
                        }
                    },
                    "Open the task to see which step failed and why; then execute it again or roll it back.",
                    RegionTaskStatus::ReleaseFailed,
                ),
            };
            Words {
                subject,
                headline,
                todo: todo.to_owned(),
                update: (*status != expected).then(|| {
                    format!(
                        "Since then the task has moved on: it is now {}.",
                        status.label().to_lowercase()
                    )
                }),
                link: format!(
                    "{origin}{}",
                    crate::paths::region_task(&out.workspace_slug, *id)
                ),
                link_label: "Open the task",
                why: "you started this run",
            }
        }
        Item::Gone => Words {
            subject: format!("{} in {ws}", out.kind.label()),
            headline: "The item this message was about has been deleted.".to_owned(),
            todo: String::new(),
            update: None,
            link: origin.to_owned(),
            link_label: "Open releasedesk",
            why: "it concerned you",
        },
    }
}

fn compose(out: &Outgoing, mail: &Mail) -> Result<Message, String> {
    let w = words(out, &mail.origin);
    let name = if out.recipient_display_name.is_empty() {
        &out.recipient_username
    } else {
        &out.recipient_display_name
    };
    let to = Mailbox::new(
        Some(name.clone()),
        out.email.parse().map_err(|e| format!("bad address: {e}"))?,
    );
    let parts = (
        TextPart {
            name,
            w: &w,
            workspace: &out.workspace_name,
        },
        HtmlPart {
            name,
            w: &w,
            workspace: &out.workspace_name,
        },
    );
    let (text, html) = (
        parts.0.render().map_err(|e| e.to_string())?,
        parts.1.render().map_err(|e| e.to_string())?,
    );
    Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(format!("[releasedesk] {}", w.subject))
        .message_id(Some(format!("<{}@releasedesk>", out.delivery_id)))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())
}

/// Sends a claimed digest (`send_one` hands it over): what waits for its person now, read at
/// this moment, so an item decided since the digest was raised is not in it; nothing waiting,
/// and it is skipped with the reason.
fn send_digest(
    conn: &mut DbConn,
    mail: &Mail,
    sender: &str,
    claimed: &notifications::Claimed,
    out: &Outgoing,
) -> Result<bool, AppError> {
    let why_not = if now() - out.created_at > chrono::Duration::hours(notifications::MAX_AGE_HOURS)
    {
        Some(format!(
            "not sent: older than {} hours when a sender took it",
            notifications::MAX_AGE_HOURS
        ))
    } else if out.email.is_empty() {
        Some("not sent: the person has no email address now".to_owned())
    } else {
        None
    };
    if let Some(why) = why_not {
        notifications::skip(conn, claimed.id, sender, &why)?;
        return Ok(true);
    }
    let person = users::find_by_username(conn, &out.recipient_username)?;
    let sections = match person {
        Some(p) => preferences::digest_contents(conn, p.id)?,
        None => Vec::new(),
    };
    if sections.is_empty() {
        let why = "not sent: nothing waits for the person now";
        notifications::skip(conn, claimed.id, sender, why)?;
        return Ok(true);
    }
    let result = compose_digest(out, &sections, mail).and_then(|message| {
        mail.smtp
            .transport(mail.timeout())
            .and_then(|t| t.send(&message))
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(_) => {
            if !notifications::mark_sent(conn, claimed.id, sender)? {
                tracing::warn!(delivery = %out.delivery_id, "digest sent after this sender's lease ended");
            }
        }
        Err(e) => {
            let failed =
                notifications::retry_later(conn, claimed.id, sender, claimed.attempts, &e)?;
            tracing::warn!(delivery = %out.delivery_id, attempt = claimed.attempts, failed, error = %e, "digest not sent");
        }
    }
    Ok(true)
}

/// One item of a digest: what it is, who asked and since when, and its link.
struct DigestLine {
    text: String,
    link: String,
}

/// One workspace's part of a digest; `more` links to its overview when the lists were capped.
struct DigestBlock {
    workspace: String,
    lines: Vec<DigestLine>,
    more: Option<String>,
}

#[derive(Template)]
#[template(path = "email/digest.txt")]
struct DigestText<'a> {
    name: &'a str,
    blocks: &'a [DigestBlock],
    settings: &'a str,
}

#[derive(Template)]
#[template(path = "email/digest.html")]
struct DigestHtml<'a> {
    name: &'a str,
    subject: &'a str,
    blocks: &'a [DigestBlock],
    settings: &'a str,
}

/// The digest's subject and its blocks, each item with its deep link.
fn digest_words(sections: &[DigestSection], origin: &str) -> (String, Vec<DigestBlock>) {
    let (mut packages, mut checkpoints) = (0usize, 0usize);
    let blocks = sections
        .iter()
        .map(|s| {
            let slug = &s.workspace.slug;
            let mut lines: Vec<DigestLine> = s
                .packages
                .rows
                .iter()
                .map(|p| DigestLine {
                    text: format!(
                        "Review the release package “{}” of {}, waiting since {} UTC.",
                        p.name,
                        p.applicant,
                        p.applied_at.format("%Y-%m-%d %H:%M")
                    ),
                    link: format!("{origin}{}", crate::paths::package(slug, p.id)),
                })
                .collect();
            lines.extend(s.checkpoints.rows.iter().map(|c| DigestLine {
                text: format!(
                    "Decide step {}, a {}, of the region release “{}”{}.",
                    c.position,
                    c.kind.label(),
                    c.task_name,
                    c.since
                        .map(|at| format!(", waiting since {} UTC", at.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default()
                ),
                link: format!(
                    "{origin}{}#step-{}",
                    crate::paths::region_task(slug, c.task_id),
                    c.position
                ),
            }));
            packages += s.packages.rows.len();
            checkpoints += s.checkpoints.rows.len();
            DigestBlock {
                workspace: s.workspace.name.clone(),
                lines,
                more: (s.packages.more || s.checkpoints.more)
                    .then(|| format!("{origin}{}", crate::paths::workspace(slug))),
            }
        })
        .collect();
    let mut counts = Vec::new();
    if packages > 0 {
        counts.push(crate::domain::count(packages as i64, "package", "packages"));
    }
    if checkpoints > 0 {
        counts.push(crate::domain::count(
            checkpoints as i64,
            "checkpoint",
            "checkpoints",
        ));
    }
    let more = sections
        .iter()
        .any(|s| s.packages.more || s.checkpoints.more);
    let subject = format!(
        "Daily digest: {}{} waiting for you",
        counts.join(" and "),
        if more { " and more" } else { "" }
    );
    (subject, blocks)
}

fn compose_digest(
    out: &Outgoing,
    sections: &[DigestSection],
    mail: &Mail,
) -> Result<Message, String> {
    let (subject, blocks) = digest_words(sections, &mail.origin);
    let name = if out.recipient_display_name.is_empty() {
        &out.recipient_username
    } else {
        &out.recipient_display_name
    };
    let settings = format!("{}{}", mail.origin, crate::paths::account());
    let to = Mailbox::new(
        Some(name.clone()),
        out.email.parse().map_err(|e| format!("bad address: {e}"))?,
    );
    let text = DigestText {
        name,
        blocks: &blocks,
        settings: &settings,
    }
    .render()
    .map_err(|e| e.to_string())?;
    let html = DigestHtml {
        name,
        subject: &subject,
        blocks: &blocks,
        settings: &settings,
    }
    .render()
    .map_err(|e| e.to_string())?;
    Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(format!("[releasedesk] {subject}"))
        .message_id(Some(format!("<{}@releasedesk>", out.delivery_id)))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())
}

/// Sends one test message to `address` now, for the Account page's "Send me a test email"
/// (the caller rate-limits it and runs it off the async workers: it waits for the server).
/// `Err` holds what went wrong, the server's answer included.
pub fn send_test(mail: &Mail, name: &str, address: &str) -> Result<(), String> {
    let to = Mailbox::new(
        Some(name.to_owned()),
        address.parse().map_err(|e| format!("bad address: {e}"))?,
    );
    let settings = format!("{}{}", mail.origin, crate::paths::account());
    let text = TestText {
        name,
        settings: &settings,
    }
    .render()
    .map_err(|e| e.to_string())?;
    let html = TestHtml {
        name,
        settings: &settings,
    }
    .render()
    .map_err(|e| e.to_string())?;
    let message = Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject("[releasedesk] Test message")
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())?;
    mail.smtp
        .transport(mail.timeout())
        .and_then(|t| t.send(&message))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(Template)]
#[template(path = "email/test.txt")]
struct TestText<'a> {
    name: &'a str,
    settings: &'a str,
}

#[derive(Template)]
#[template(path = "email/test.html")]
struct TestHtml<'a> {
    name: &'a str,
    settings: &'a str,
}
