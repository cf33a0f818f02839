//! Workspace settings: mode, approval policy and quorum (DESIGN.md, reviewer rules), and how long
//! a wait for approval may last (`ApprovalExpiry`, issue 24).

use super::FieldError;

text_enum!(
    /// `enterprise`: development and production environments with the release workflow;
    /// `simple`: a submitted version is live at once.
    WorkspaceMode {
        Enterprise = "enterprise": "Enterprise (review before production)",
        Simple = "simple": "Simple (submitted versions go live at once)",
    }
);

text_enum!(
    /// Who needs approval to release.
    ApprovalPolicy {
        /// Releases by users whose only role is developer need approval.
        Developers = "developers": "Developers need approval; deployers and admins release directly",
        /// Four-eyes for every release.
        Everyone = "everyone": "Every release needs approval (four eyes)",
    }
);

text_enum!(
    /// How many of a package's chosen reviewers must approve.
    Quorum {
        Any = "any": "Any one chosen reviewer",
        All = "all": "All chosen reviewers",
    }
);

/// How long a package may wait for review, or a release at a Manual Approval or Manual Trigger,
/// before it expires: 1 hour to 30 days, in seconds (`workspaces.approval_expiry_seconds`, whose
/// CHECK says the same). No value (`None` where it is held) means waits never expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApprovalExpiry(i32);

impl ApprovalExpiry {
    pub const MIN_SECONDS: i32 = 3_600;
    pub const MAX_SECONDS: i32 = 30 * 86_400;
    const RANGE: &'static str =
        "Between 1 hour and 30 days, e.g. 12h, 36h or 7d; leave it empty for never.";

    /// Parses the Settings field: empty (or `off`, `never`) is `None`; otherwise one or more
    /// amounts with a unit, `m`/`min`/`minutes`, `h`/`hours` or `d`/`days` (`1d 12h`, `90 min`,
    /// `2 days`), adding up to 1 hour–30 days.
    pub fn parse(raw: &str) -> Result<Option<Self>, FieldError> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() || s == "off" || s == "never" {
            return Ok(None);
        }
        let bad = || FieldError(Self::RANGE.into());
        let mut total: i64 = 0;
        let mut rest = s.as_str();
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 || digits > 7 {
                return Err(bad());
            }
            let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = rest[digits..].trim_start();
            let unit_len = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let unit = match &rest[..unit_len] {
                "m" | "min" | "mins" | "minute" | "minutes" => 60,
                "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
                "d" | "day" | "days" => 86_400,
                _ => return Err(bad()),
            };
            total += n * unit;
            rest = rest[unit_len..].trim_start_matches([' ', ',']);
        }
        Self::from_seconds(total).map(Some).ok_or_else(bad)
    }

    /// A stored value; `None` outside 1 hour–30 days.
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        (i64::from(Self::MIN_SECONDS)..=i64::from(Self::MAX_SECONDS))
            .contains(&seconds)
            .then_some(ApprovalExpiry(seconds as i32))
    }

    pub fn seconds(self) -> i32 {
        self.0
    }

    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::seconds(self.0.into())
    }

    /// The shortest way to write it that `parse` reads back: `7d`, `36h`, `1d 30m`.
    pub fn to_field(self) -> String {
        let (d, h, m) = (
            self.0 / 86_400,
            self.0 % 86_400 / 3_600,
            self.0 % 3_600 / 60,
        );
        if h == 0 && m == 0 {
            return format!("{d}d");
        }
        if m == 0 && d < 3 {
            return format!("{}h", d * 24 + h);
        }
        [(d, "d"), (h, "h"), (m, "m")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// For people: "7 days", "36 hours", "1 day 30 minutes".
    pub fn describe(self) -> String {
        let (d, h, m) = (
            self.0 / 86_400,
            self.0 % 86_400 / 3_600,
            self.0 % 3_600 / 60,
        );
        let (d, h) = if m == 0 && d < 3 && h > 0 {
            (0, d * 24 + h)
        } else {
            (d, h)
        };
        [
            (d, "day", "days"),
            (h, "hour", "hours"),
            (m, "minute", "minutes"),
        ]
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, one, many)| super::count(*n, one, many))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_expiry_is_one_hour_to_thirty_days() {
        let secs = |raw: &str| ApprovalExpiry::parse(raw).map(|e| e.map(ApprovalExpiry::seconds));
        assert_eq!(secs(""), Ok(None));
        assert_eq!(secs(" off "), Ok(None));
        assert_eq!(secs("1h"), Ok(Some(3_600)));
        assert_eq!(secs("60 min"), Ok(Some(3_600)));
        assert_eq!(secs("30d"), Ok(Some(2_592_000)));
        assert_eq!(secs("1d 12h"), Ok(Some(129_600)));
        assert_eq!(secs("2 Days"), Ok(Some(172_800)));
        for bad in [
            "0", "0h", "30 min", "59m", "31d", "30d 1m", "soon", "12", "h", "-1h", "1.5h",
        ] {
            assert!(secs(bad).is_err(), "{bad} accepted");
        }
        for s in [
            3_600,
            129_600,
            172_800,
            604_800,
            90_000,
            86_400 + 1_800,
            2_592_000,
        ] {
            let e = ApprovalExpiry::from_seconds(s).unwrap();
            assert_eq!(
                ApprovalExpiry::parse(&e.to_field()).unwrap(),
                Some(e),
                "{s}"
            );
        }
        assert_eq!(
            ApprovalExpiry::from_seconds(129_600).unwrap().describe(),
            "36 hours"
        );
        assert_eq!(
            ApprovalExpiry::from_seconds(604_800).unwrap().describe(),
            "7 days"
        );
    }

    #[test]
    fn settings_parse_their_own_text() {
        for m in WorkspaceMode::ALL {
            assert_eq!(WorkspaceMode::parse(m.as_str()), Some(*m));
        }
        assert_eq!(
            ApprovalPolicy::parse("everyone"),
            Some(ApprovalPolicy::Everyone)
        );
        assert_eq!(Quorum::parse("most"), None);
    }
}
