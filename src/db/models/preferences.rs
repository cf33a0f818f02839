//! What a person chose about their notifications (issue 23), and the daily digest those
//! choices ask for: their email address (audited in the tenant log, the address itself never
//! written there), email on or off per event kind (stored only where it differs from
//! `notifications::email_by_default`, so a changed default reaches everyone who never chose),
//! the hour of their daily digest (`users.digest_hour`, UTC), and the test email's rate limit
//! (`users.test_email_at`). `notifications::raise` asks `who_wants_email` who of its people get
//! a row; the email sender raises due digests with `raise_due_digests` and reads one's contents
//! with `digest_contents` when it sends it.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::attention::{self, Capped, WaitingCheckpoint, WaitingPackage};
use super::audit::{self, AuditEntry};
use super::notifications::{self, NotificationKind};
use super::users::{self, User};
use super::workspaces::{self, Workspace};
use crate::db::schema::{
    memberships, notification_preferences, users as users_t, workspaces as workspaces_t,
};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{DigestHour, EmailAddress, UserId, WorkspaceId};
use crate::error::AppError;

/// How long a person waits between two test emails.
pub const TEST_EMAIL_EVERY_SECONDS: i64 = 30;

/// One event kind as the Account page lists it.
#[derive(Clone, Copy, Debug)]
pub struct KindChoice {
    pub kind: NotificationKind,
    /// Whether the person gets email for it now (their choice, or the default).
    pub email: bool,
    pub default: bool,
}

/// A person's notification settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Empty: no email at all.
    pub email: String,
    /// Every kind a person may choose for, in `NotificationKind::ALL` order.
    pub kinds: Vec<KindChoice>,
    pub digest: Option<DigestHour>,
}

/// The kinds a person chooses email for, one by one: all but the digest, which has its own
/// setting (an hour, or none).
pub fn choosable() -> impl Iterator<Item = NotificationKind> {
    NotificationKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != NotificationKind::Digest)
}

/// `user`'s settings.
pub fn load(conn: &mut DbConn, user: UserId) -> QueryResult<Settings> {
    let (email, digest_hour): (String, Option<i32>) = users_t::table
        .find(user)
        .select((users_t::email, users_t::digest_hour))
        .first(conn)?;
    let chosen: Vec<(NotificationKind, bool)> = notification_preferences::table
        .filter(notification_preferences::user_id.eq(user))
        .select((
            notification_preferences::kind,
            notification_preferences::email,
        ))
        .load(conn)?;
    let kinds = choosable()
        .map(|kind| {
            let default = notifications::email_by_default(kind);
            let email = chosen
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(default, |(_, on)| *on);
            KindChoice {
                kind,
                email,
                default,
            }
        })
        .collect();
    Ok(Settings {
        email,
        kinds,
        digest: digest_hour.and_then(DigestHour::from_db),
    })
}

/// Saves `user`'s choices: email for the kinds in `email_on`, none for the other choosable
/// kinds, and the digest hour. Only the choices that differ from the default are stored.
pub fn save(
    conn: &mut DbConn,
    user: UserId,
    email_on: &[NotificationKind],
    digest: Option<DigestHour>,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::delete(
            notification_preferences::table.filter(notification_preferences::user_id.eq(user)),
        )
        .execute(conn)?;
        for kind in choosable() {
            let on = email_on.contains(&kind);
            if on != notifications::email_by_default(kind) {
                diesel::insert_into(notification_preferences::table)
                    .values((
                        notification_preferences::user_id.eq(user),
                        notification_preferences::kind.eq(kind),
                        notification_preferences::email.eq(on),
                    ))
                    .execute(conn)?;
            }
        }
        let changed = diesel::update(users_t::table.find(user))
            .set((
                users_t::digest_hour.eq(digest.map(DigestHour::get)),
                users_t::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
}

/// Of `people`, those who want email for `kind`: their stored choice, or the default.
pub fn who_wants_email(
    conn: &mut DbConn,
    people: &[UserId],
    kind: NotificationKind,
) -> QueryResult<Vec<UserId>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let chosen: Vec<(UserId, bool)> = notification_preferences::table
        .filter(notification_preferences::user_id.eq_any(people))
        .filter(notification_preferences::kind.eq(kind))
        .select((
            notification_preferences::user_id,
            notification_preferences::email,
        ))
        .load(conn)?;
    let default = notifications::email_by_default(kind);
    Ok(people
        .iter()
        .copied()
        .filter(|id| {
            chosen
                .iter()
                .find(|(u, _)| u == id)
                .map_or(default, |(_, on)| *on)
        })
        .collect())
}

/// Sets (or, with `None`, clears) the caller's own address, recorded in the tenant audit log
/// as set or cleared; the address itself is not written there, where administrators read.
/// Returns whether anything changed.
pub fn set_own_email(
    conn: &mut DbConn,
    user_id: UserId,
    address: Option<&EmailAddress>,
) -> Result<bool, AppError> {
    write_tx(conn, |conn| {
        let new = address.map_or("", EmailAddress::as_str);
        let changed = diesel::update(
            users_t::table
                .find(user_id)
                .filter(users_t::is_active.eq(true))
                .filter(users_t::email.ne(new)),
        )
        .set((users_t::email.eq(new), users_t::updated_at.eq(now())))
        .execute(conn)?;
        if changed == 0 {
            return Ok(false);
        }
        let user: User = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(user_id),
                action: if address.is_some() {
                    "user.email_set"
                } else {
                    "user.email_cleared"
                },
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "",
            },
        )?;
        Ok(true)
    })
}

/// Why a test email cannot go now.
#[derive(Debug, PartialEq, Eq)]
pub enum TestRefused {
    NoAddress,
    /// Asked less than `TEST_EMAIL_EVERY_SECONDS` ago: wait this many seconds.
    TooSoon(i64),
}

/// Takes `user`'s turn for a test email: their address, or why not now. One guarded statement,
/// so two quick clicks (or two instances) send one.
pub fn take_test_email_turn(
    conn: &mut DbConn,
    user: UserId,
) -> Result<Result<String, TestRefused>, AppError> {
    write_tx(conn, |conn| {
        let (email, last): (String, Option<NaiveDateTime>) = users_t::table
            .find(user)
            .select((users_t::email, users_t::test_email_at))
            .first(conn)?;
        if email.is_empty() {
            return Ok(Err(TestRefused::NoAddress));
        }
        let ts = now();
        let every = Duration::seconds(TEST_EMAIL_EVERY_SECONDS);
        let taken = diesel::update(
            users_t::table.find(user).filter(
                users_t::test_email_at
                    .is_null()
                    .or(users_t::test_email_at.le(ts - every)),
            ),
        )
        .set(users_t::test_email_at.eq(Some(ts)))
        .execute(conn)?;
        if taken == 0 {
            let wait = last.map_or(TEST_EMAIL_EVERY_SECONDS, |at| {
                (at + every - ts)
                    .num_seconds()
                    .clamp(1, TEST_EMAIL_EVERY_SECONDS)
            });
            return Ok(Err(TestRefused::TooSoon(wait)));
        }
        Ok(Ok(email))
    })
}

/// The delivery id of `user`'s digest of `day`: the same from every instance, so the outbox's
/// unique `delivery_id` keeps it to one.
pub fn digest_delivery_id(user: UserId, day: NaiveDate) -> String {
    format!("digest.u{user}.{}", day.format("%Y-%m-%d"))
}

/// Raises the digests due at `now`: for each active person with an address and a digest hour
/// whose day's digest is due (`DigestHour::due_day`), one pending email row, inserted only if
/// that day's is absent (`ON CONFLICT DO NOTHING` on the delivery id, the same statement on
/// both backends), so two senders raise it once. The row is filed under the person's first
/// workspace (the outbox needs one); its message covers all of theirs, read when it is sent.
/// Returns how many it inserted.
pub fn raise_due_digests(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let people: Vec<(UserId, i32, bool)> = users_t::table
        .filter(users_t::is_active.eq(true))
        .filter(users_t::email.ne(""))
        .filter(users_t::digest_hour.is_not_null())
        .select((
            users_t::id,
            users_t::digest_hour.assume_not_null(),
            users_t::is_tenant_admin,
        ))
        .load(conn)?;
    let mut raised = 0;
    for (user, hour, tenant_admin) in people {
        let Some(day) = DigestHour::from_db(hour).and_then(|h| h.due_day(now)) else {
            continue;
        };
        let Some(workspace) = home_workspace(conn, user, tenant_admin)? else {
            continue;
        };
        raised += diesel::sql_query(
            "INSERT INTO notifications (delivery_id, kind, workspace_id, user_id, channel, \
             status, attempts, next_attempt_at, last_error, created_at) \
             VALUES ($1, $2, $3, $4, 'email', 'pending', 0, $5, '', $5) \
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind::<Text, _>(digest_delivery_id(user, day))
        .bind::<Text, _>(NotificationKind::Digest.as_str())
        .bind::<BigInt, _>(workspace.get())
        .bind::<BigInt, _>(user.get())
        .bind::<Timestamp, _>(now)
        .execute(conn)?;
    }
    Ok(raised)
}

/// The workspace a person's digest row is filed under: their first by id (any, for a tenant
/// administrator who belongs to none).
fn home_workspace(
    conn: &mut DbConn,
    user: UserId,
    tenant_admin: bool,
) -> QueryResult<Option<WorkspaceId>> {
    let member: Option<WorkspaceId> = memberships::table
        .filter(memberships::user_id.eq(user))
        .select(memberships::workspace_id)
        .order(memberships::workspace_id)
        .first(conn)
        .optional()?;
    if member.is_some() || !tenant_admin {
        return Ok(member);
    }
    workspaces_t::table
        .select(workspaces_t::id)
        .order(workspaces_t::id)
        .first(conn)
        .optional()
}

/// What waits for a person in one workspace (the overview's "Needs your attention" lists,
/// capped the same way).
#[derive(Debug)]
pub struct DigestSection {
    pub workspace: Workspace,
    pub packages: Capped<WaitingPackage>,
    pub checkpoints: Capped<WaitingCheckpoint>,
}

/// What waits for `user` now, workspace by workspace (those with nothing left out): packages
/// pending approval with them named as an eligible reviewer who has not decided, and
/// checkpoints waiting that name them. Read when the digest is sent, so it never lists an item
/// decided since it was raised.
pub fn digest_contents(conn: &mut DbConn, user: UserId) -> Result<Vec<DigestSection>, AppError> {
    let person = users::find(conn, user)?.ok_or(AppError::NotFound)?;
    if !person.is_active {
        return Ok(Vec::new());
    }
    let mut sections = Vec::new();
    for summary in workspaces::list_for_user(conn, &person)? {
        let may_review = person.is_tenant_admin || summary.role.is_some_and(|r| r.may_review());
        let (packages, checkpoints) =
            attention::waiting(conn, summary.workspace.id, user, may_review)?;
        if packages.is_empty() && checkpoints.is_empty() {
            continue;
        }
        sections.push(DigestSection {
            workspace: summary.workspace,
            packages,
            checkpoints,
        });
    }
    Ok(sections)
}
