//! The portable schema: hand-written so it uses only types diesel's `MultiConnection` supports
//! (BigInt ids, Text enums checked by the database, naive-UTC Timestamps).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        is_tenant_admin -> Bool,
        is_active -> Bool,
        session_epoch -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    workspaces (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        description -> Text,
        mode -> Text,
        approval_policy -> Text,
        quorum -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    memberships (workspace_id, user_id) {
        workspace_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    workspace_reviewers (workspace_id, user_id) {
        workspace_id -> BigInt,
        user_id -> BigInt,
        added_by -> Nullable<BigInt>,
        added_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<BigInt>,
        target_label -> Text,
        comment -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        username -> Text,
        client_ip -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    instance_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(workspace_reviewers -> workspaces (workspace_id));
diesel::joinable!(workspace_reviewers -> users (user_id));
diesel::joinable!(audit_log -> users (actor_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    workspaces,
    memberships,
    workspace_reviewers,
    audit_log,
    login_failures,
    instance_secrets,
    user_sessions,
);
