//! Region Release states and values (DESIGN.md, "Region Release domain"; seed 002's statuses):
//! the nine task states with what each allows, step kinds and states, operation types, deploy
//! drivers, and validated region and component values.

use std::collections::BTreeMap;

use super::FieldError;

text_enum!(
    /// A region release task's state (seed 002).
    RegionTaskStatus {
        ToRelease = "to_release": "To release",
        Releasing = "releasing": "Releasing",
        Released = "released": "Released",
        ReleaseFailed = "release_failed": "Release failed",
        RollingBack = "rolling_back": "Rolling back",
        RolledBack = "rolled_back": "Rolled back",
        RollbackFailed = "rollback_failed": "Rollback failed",
        Suspending = "suspending": "Suspending",
        Suspended = "suspended": "Suspended",
    }
);

impl RegionTaskStatus {
    /// Running states refuse Execute (and every other transition but their own outcome).
    pub fn is_running(self) -> bool {
        matches!(
            self,
            RegionTaskStatus::Releasing
                | RegionTaskStatus::RollingBack
                | RegionTaskStatus::Suspending
        )
    }
    /// Rollback starts from these.
    pub const ROLLBACKABLE: [RegionTaskStatus; 3] = [
        RegionTaskStatus::Released,
        RegionTaskStatus::ReleaseFailed,
        RegionTaskStatus::RollbackFailed,
    ];

    /// Seed 001: "the region release task cannot be in the Running state" — any other state
    /// may be executed (again).
    pub fn can_execute(self) -> bool {
        !self.is_running()
    }
    pub fn can_roll_back(self) -> bool {
        Self::ROLLBACKABLE.contains(&self)
    }
    pub fn can_edit(self) -> bool {
        self == RegionTaskStatus::ToRelease
    }
    /// A freeze override is for a task on its way out, not a finished one (an override lasts
    /// for the task's life, so one on a released task would let every later Execute through).
    pub fn can_pass_freeze(self) -> bool {
        !matches!(
            self,
            RegionTaskStatus::Released | RegionTaskStatus::RolledBack
        )
    }
    /// Why Execute is refused now, in words for the button's title and the error.
    pub fn execute_refusal(self) -> Option<String> {
        if self.can_execute() {
            None
        } else if self.is_running() {
            Some(format!(
                "The task is {}; wait until it stops.",
                self.label().to_lowercase()
            ))
        } else {
            Some(format!(
                "A task that is {} cannot be executed again.",
                self.label().to_lowercase()
            ))
        }
    }
    pub fn css(self) -> &'static str {
        // Nine distinct looks: colour says good/bad/busy, a glyph says the same without colour
        // (static/app.css), and the rollback states are outlined with an arrow.
        match self {
            RegionTaskStatus::ToRelease => "badge-info",
            RegionTaskStatus::Releasing => "badge-run",
            RegionTaskStatus::RollingBack => "badge-run badge-rollback",
            RegionTaskStatus::Released => "badge-ok",
            RegionTaskStatus::ReleaseFailed => "badge-bad",
            RegionTaskStatus::RollbackFailed => "badge-bad badge-rollback",
            RegionTaskStatus::RolledBack => "badge-muted badge-rollback",
            RegionTaskStatus::Suspending => "badge-pausing",
            RegionTaskStatus::Suspended => "badge-paused",
        }
    }
}

text_enum!(
    /// Bulk Deploy, Bulk Upgrade or Bulk Clone.
    Operation {
        Deploy = "deploy": "Bulk Deploy",
        Upgrade = "upgrade": "Bulk Upgrade",
        Clone = "clone": "Bulk Clone",
    }
);

text_enum!(
    /// A step of the pipeline.
    StepKind {
        Deploy = "deploy": "Deploy",
        Approval = "approval": "Manual Approval",
        Trigger = "trigger": "Manual Trigger",
    }
);

impl StepKind {
    pub fn is_checkpoint(self) -> bool {
        self != StepKind::Deploy
    }
}

text_enum!(
    /// A step's state in the current (or last) execution.
    StepStatus {
        Pending = "pending": "Not started",
        Running = "running": "Running",
        Succeeded = "succeeded": "Succeeded",
        Failed = "failed": "Failed",
        Waiting = "waiting": "Waiting for a decision",
        Agreed = "agreed": "Agreed",
        Rejected = "rejected": "Rejected",
    }
);

impl StepStatus {
    /// Finished successfully: a resumed execution starts after it.
    pub fn is_done(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Agreed)
    }
    pub fn css(self) -> &'static str {
        match self {
            StepStatus::Pending => "badge-muted",
            StepStatus::Running => "badge-run",
            StepStatus::Succeeded | StepStatus::Agreed => "badge-ok",
            StepStatus::Failed | StepStatus::Rejected => "badge-bad",
            StepStatus::Waiting => "badge-warn",
        }
    }
}

text_enum!(
    /// What an execution of a region task does: run the steps, or undo a release.
    ExecutionKind {
        Release = "release": "Release",
        Rollback = "rollback": "Rollback",
    }
);

text_enum!(
    /// An execution's state: it runs until the task leaves its running state.
    ExecutionStatus {
        Running = "running": "Running",
        Succeeded = "succeeded": "Succeeded",
        Failed = "failed": "Failed",
        Suspended = "suspended": "Suspended",
    }
);

impl ExecutionStatus {
    pub fn css(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "badge-run",
            ExecutionStatus::Succeeded => "badge-ok",
            ExecutionStatus::Failed => "badge-bad",
            ExecutionStatus::Suspended => "badge-warn",
        }
    }
}

text_enum!(
    /// The outcome of one component in one step of an execution.
    ResultStatus {
        Succeeded = "succeeded": "Succeeded",
        Failed = "failed": "Failed",
    }
);

impl ResultStatus {
    pub fn css(self) -> &'static str {
        match self {
            ResultStatus::Succeeded => "badge-ok",
            ResultStatus::Failed => "badge-bad",
        }
    }
}

text_enum!(
    /// How a region is deployed to.
    Driver {
        Inventory = "inventory": "Inventory (record the new state)",
        Webhook = "webhook": "Webhook (POST a signed payload)",
    }
);

/// A region name such as `eu-west-1`: 1–60 of `a-z 0-9 -`.
pub fn validate_region_name(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_lowercase();
    if s.is_empty() || s.len() > 60 {
        return Err(FieldError(
            "A region name has 1 to 60 characters, e.g. eu-west-1.".into(),
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(FieldError(
            "Use lowercase letters, digits and dashes, e.g. eu-west-1.".into(),
        ));
    }
    Ok(s)
}

/// A component name such as `payments-api`: 1–60 of `a-z 0-9 - _ .`, starting with a letter.
pub fn validate_component_name(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_lowercase();
    if s.is_empty() || s.len() > 60 {
        return Err(FieldError(
            "A component name has 1 to 60 characters.".into(),
        ));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase())
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
    {
        return Err(FieldError(
            "Start with a letter; use letters, digits, dashes, dots and underscores.".into(),
        ));
    }
    Ok(s)
}

/// CPU as Kubernetes writes it: `500m` or `0.5` or `2` → millicores.
pub fn parse_cpu(raw: &str) -> Result<i32, FieldError> {
    let s = raw.trim();
    let millis = if let Some(m) = s.strip_suffix('m') {
        m.parse::<f64>().ok()
    } else {
        s.parse::<f64>().ok().map(|c| c * 1000.0)
    };
    match millis {
        Some(m) if m.is_finite() && (1.0..=64000.0).contains(&m) => Ok(m.round() as i32),
        _ => Err(FieldError(
            "CPU is millicores like 500m, or cores like 0.5 or 2 (at most 64).".into(),
        )),
    }
}

/// Memory as `512Mi`, `2Gi` or a number of MiB → MiB.
pub fn parse_memory(raw: &str) -> Result<i32, FieldError> {
    let s = raw.trim();
    let mib = if let Some(g) = s.strip_suffix("Gi") {
        g.parse::<f64>().ok().map(|g| g * 1024.0)
    } else {
        s.strip_suffix("Mi").unwrap_or(s).parse::<f64>().ok()
    };
    match mib {
        Some(m) if m.is_finite() && (1.0..=262144.0).contains(&m) => Ok(m.round() as i32),
        _ => Err(FieldError(
            "Memory is like 512Mi or 2Gi (at most 256Gi).".into(),
        )),
    }
}

pub fn format_cpu(millis: i32) -> String {
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

pub fn format_memory(mib: i32) -> String {
    if mib % 1024 == 0 {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

/// Environment variables, one `KEY=value` per line; keys are `[A-Z_][A-Z0-9_]*`.
pub fn parse_env(raw: &str) -> Result<BTreeMap<String, String>, FieldError> {
    let mut out = BTreeMap::new();
    for (i, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(FieldError(format!("Line {}: write KEY=value.", i + 1)));
        };
        let k = k.trim();
        let valid = k.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(FieldError(format!(
                "Line {}: “{k}” is not a valid variable name (A-Z, 0-9, _).",
                i + 1
            )));
        }
        if out.insert(k.to_owned(), v.trim().to_owned()).is_some() {
            return Err(FieldError(format!("Line {}: {k} is set twice.", i + 1)));
        }
    }
    if out.len() > 100 {
        return Err(FieldError("At most 100 variables.".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_is_refused_while_running_with_a_reason() {
        for s in RegionTaskStatus::ALL {
            assert_eq!(s.can_execute(), s.execute_refusal().is_none(), "{s:?}");
        }
        assert!(
            RegionTaskStatus::Releasing
                .execute_refusal()
                .unwrap()
                .contains("releasing")
        );
        assert!(RegionTaskStatus::Suspended.can_execute());
        assert!(
            RegionTaskStatus::RolledBack.can_execute(),
            "only running states refuse"
        );
        assert!(!RegionTaskStatus::Suspending.can_execute());
    }

    #[test]
    fn every_status_has_its_own_badge() {
        let mut looks: Vec<&str> = RegionTaskStatus::ALL.iter().map(|s| s.css()).collect();
        looks.sort();
        looks.dedup();
        assert_eq!(looks.len(), 9);
    }

    #[test]
    fn resources_parse_like_kubernetes() {
        assert_eq!(parse_cpu("500m").unwrap(), 500);
        assert_eq!(parse_cpu("2").unwrap(), 2000);
        assert_eq!(parse_cpu("0.25").unwrap(), 250);
        assert!(parse_cpu("lots").is_err() && parse_cpu("0").is_err());
        assert_eq!(parse_memory("512Mi").unwrap(), 512);
        assert_eq!(parse_memory("2Gi").unwrap(), 2048);
        assert!(parse_memory("-1Mi").is_err());
        assert_eq!(
            (format_cpu(1500), format_memory(2048)),
            ("1500m".into(), "2Gi".into())
        );
    }

    #[test]
    fn env_vars_are_checked() {
        let env = parse_env("LOG_LEVEL=info\n\n# comment\nDB_URL = postgres://x\n").unwrap();
        assert_eq!(env["DB_URL"], "postgres://x");
        assert!(parse_env("lower=1").is_err());
        assert!(parse_env("A=1\nA=2").is_err());
        assert!(parse_env("NOEQUALS").is_err());
    }
}
