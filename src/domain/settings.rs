//! Workspace settings: mode, approval policy and quorum (DESIGN.md, reviewer rules).

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

#[cfg(test)]
mod tests {
    use super::*;

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
