//! Task Release states and values (DESIGN.md, "Task Release domain"): release task and package
//! states with the transitions they allow, a package task's release and startup status, script
//! types, script paths and schedules.

use super::FieldError;

text_enum!(
    /// A release task's state.
    TaskStatus {
        Pending = "pending": "Pending",
        InReview = "in_review": "In review",
        Releasing = "releasing": "Releasing",
        Released = "released": "Released",
        Failed = "failed": "Failed",
        Rejected = "rejected": "Rejected",
        Revoked = "revoked": "Revoked",
        Superseded = "superseded": "Superseded",
    }
);

impl TaskStatus {
    /// States from which a task may be put into a new package.
    pub const RELEASABLE: [TaskStatus; 2] = [TaskStatus::Pending, TaskStatus::Rejected];
    /// States from which a task may be withdrawn (revoked or superseded).
    pub const WITHDRAWABLE: [TaskStatus; 3] = [
        TaskStatus::Pending,
        TaskStatus::Rejected,
        TaskStatus::InReview,
    ];

    pub fn can_release(self) -> bool {
        Self::RELEASABLE.contains(&self)
    }
    pub fn can_revoke(self) -> bool {
        Self::WITHDRAWABLE.contains(&self)
    }
    /// Badge colour class.
    pub fn css(self) -> &'static str {
        match self {
            TaskStatus::Pending => "badge-info",
            TaskStatus::InReview => "badge-warn",
            TaskStatus::Releasing => "badge-run",
            TaskStatus::Released => "badge-ok",
            TaskStatus::Failed | TaskStatus::Rejected => "badge-bad",
            TaskStatus::Revoked | TaskStatus::Superseded => "badge-muted",
        }
    }
}

text_enum!(
    /// A release package's state.
    PackageStatus {
        PendingApproval = "pending_approval": "Pending approval",
        Releasing = "releasing": "Releasing",
        Released = "released": "Released",
        PartiallyFailed = "partially_failed": "Partially failed",
        Failed = "failed": "Failed",
        Rejected = "rejected": "Rejected",
        Revoked = "revoked": "Revoked",
        /// Waited for review past the workspace's approval expiry; its tasks went back to
        /// pending (`releases::expire_package`).
        Expired = "expired": "Expired",
    }
);

impl PackageStatus {
    pub fn css(self) -> &'static str {
        match self {
            PackageStatus::PendingApproval => "badge-warn",
            PackageStatus::Releasing => "badge-run",
            PackageStatus::Released => "badge-ok",
            PackageStatus::PartiallyFailed | PackageStatus::Failed | PackageStatus::Rejected => {
                "badge-bad"
            }
            PackageStatus::Revoked => "badge-muted",
            PackageStatus::Expired => "badge-expired",
        }
    }
    /// The worker's outcome for a package whose every task has finished.
    pub fn outcome(released: i32, failed: i32) -> PackageStatus {
        match (released, failed) {
            (_, 0) => PackageStatus::Released,
            (0, _) => PackageStatus::Failed,
            _ => PackageStatus::PartiallyFailed,
        }
    }
}

text_enum!(
    /// One task's release status inside a package.
    ReleaseStatus {
        Waiting = "waiting": "Waiting",
        Released = "released": "Released",
        Failed = "failed": "Failed",
        Withdrawn = "withdrawn": "Withdrawn",
    }
);

impl ReleaseStatus {
    pub fn css(self) -> &'static str {
        match self {
            ReleaseStatus::Waiting => "badge-info",
            ReleaseStatus::Released => "badge-ok",
            ReleaseStatus::Failed => "badge-bad",
            ReleaseStatus::Withdrawn => "badge-muted",
        }
    }
}

text_enum!(
    /// Whether the released version was activated in production (its schedule armed).
    StartupStatus {
        NotStarted = "not_started": "Not started",
        Started = "started": "Started",
        StartFailed = "start_failed": "Start failed",
    }
);

impl StartupStatus {
    pub fn css(self) -> &'static str {
        match self {
            StartupStatus::NotStarted => "badge-muted",
            StartupStatus::Started => "badge-ok",
            StartupStatus::StartFailed => "badge-bad",
        }
    }
}

text_enum!(
    /// The language a script is written in.
    ScriptType {
        Sql = "sql": "SQL",
        Shell = "shell": "Shell",
        Python = "python": "Python",
        Spark = "spark": "Spark SQL",
        Hive = "hive": "Hive SQL",
    }
);

/// A script's path-like name: `etl/daily_orders.sql`. 1–200 characters of letters, digits and
/// `. _ - /`, segments separated by single slashes, no leading or trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptPath(String);

impl ScriptPath {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError(
                "Enter a path, e.g. etl/daily_orders.sql.".into(),
            ));
        }
        if s.chars().count() > 200 {
            return Err(FieldError("A path has at most 200 characters.".into()));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        {
            return Err(FieldError(
                "Use only letters, digits, dots, dashes, underscores and slashes.".into(),
            ));
        }
        if s.starts_with('/')
            || s.ends_with('/')
            || s.contains("//")
            || s.split('/').any(|seg| seg == "." || seg == "..")
        {
            return Err(FieldError(
                "Separate folders with single slashes, e.g. etl/daily_orders.sql.".into(),
            ));
        }
        Ok(ScriptPath(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a five-field cron expression (`minute hour day-of-month month day-of-week`) with
/// `croner`; empty means "no schedule". Each field is `*`, a number in range, a range `a-b`, a
/// list `a,b`, a step `*/n` / `a-b/n`, or one of croner's names and extensions (`MON-FRI`,
/// `JAN`, `L`, `5#2`). A refusal names the first field croner refuses on its own.
pub fn validate_schedule(raw: &str) -> Result<String, FieldError> {
    const FIELDS: [(&str, &str); 5] = [
        ("minute", "0–59"),
        ("hour", "0–23"),
        ("day of month", "1–31"),
        ("month", "1–12"),
        ("day of week", "0–7"),
    ];
    let s = raw.split_whitespace().collect::<Vec<_>>();
    if s.is_empty() {
        return Ok(String::new());
    }
    if s.len() != 5 {
        return Err(FieldError(format!(
            "A schedule has 5 fields (minute hour day month weekday), e.g. `0 2 * * *`; this has {}.",
            s.len()
        )));
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build();
    let schedule = s.join(" ");
    if parser.parse(&schedule).is_ok() {
        return Ok(schedule);
    }
    let alone = |i: usize| {
        let mut only = ["*"; 5];
        only[i] = s[i];
        parser.parse(&only.join(" ")).is_ok()
    };
    let message = match (0..5).find(|&i| !alone(i)) {
        Some(i) => {
            let (name, range) = FIELDS[i];
            format!(
                "The {name} field `{}` is not valid (allowed {range}, *, a-b, a,b, */n).",
                s[i]
            )
        }
        // Each field is valid alone, and together they never match a day (`0 0 31 2 *`).
        None => format!("The schedule `{schedule}` is not valid."),
    };
    Err(FieldError(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pending_and_rejected_tasks_can_be_released() {
        let releasable: Vec<_> = TaskStatus::ALL.iter().filter(|s| s.can_release()).collect();
        assert_eq!(releasable, [&TaskStatus::Pending, &TaskStatus::Rejected]);
        assert!(TaskStatus::InReview.can_revoke());
        assert!(!TaskStatus::Releasing.can_revoke() && !TaskStatus::Released.can_revoke());
    }

    #[test]
    fn package_outcome_follows_its_tasks() {
        assert_eq!(PackageStatus::outcome(3, 0), PackageStatus::Released);
        assert_eq!(PackageStatus::outcome(2, 1), PackageStatus::PartiallyFailed);
        assert_eq!(PackageStatus::outcome(0, 2), PackageStatus::Failed);
    }

    #[test]
    fn script_paths_are_checked() {
        assert_eq!(
            ScriptPath::parse(" etl/daily_orders.sql ")
                .unwrap()
                .as_str(),
            "etl/daily_orders.sql"
        );
        for bad in [
            "",
            "/etl/x.sql",
            "etl//x.sql",
            "etl/../x",
            "etl/x y.sql",
            "etl/x.sql/",
        ] {
            assert!(ScriptPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules_are_five_valid_cron_fields() {
        assert_eq!(validate_schedule("").unwrap(), "");
        assert_eq!(validate_schedule(" 0  2 * * * ").unwrap(), "0 2 * * *");
        assert!(validate_schedule("*/15 8-18 * * 1-5").is_ok());
        assert!(validate_schedule("0 25 * * *").is_err());
        assert!(validate_schedule("0 2 * *").is_err());
        assert!(validate_schedule("a b c d e").is_err());
        assert!(validate_schedule("0 2 * * MON-FRI").is_ok());
        assert!(validate_schedule("0 2 * * 7").is_ok());
        assert!(validate_schedule("*/0 * * * *").is_err());
        assert!(validate_schedule("0 2 5-1 * *").is_err());
        assert!(validate_schedule("@daily").is_err());
        assert!(validate_schedule("0 0 * * * *").is_err());
        let refused = |raw: &str| validate_schedule(raw).unwrap_err().0;
        assert!(refused("99 * * * *").starts_with("The minute field `99`"));
        assert!(refused("0 2 * 13 *").starts_with("The month field `13`"));
        assert!(refused("0 2 * * 8").starts_with("The day of week field `8`"));
    }
}
