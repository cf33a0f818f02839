//! The portable schema: hand-written so it uses only types diesel's `MultiConnection` supports
//! (BigInt ids, Text enums checked by the database, naive-UTC Timestamps).

diesel::table! {
    freeze_windows (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        reason -> Text,
        scope -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        schedule -> Text,
        duration_minutes -> Nullable<Integer>,
        time_zone -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    freeze_window_regions (window_id, region_id) {
        window_id -> BigInt,
        region_id -> BigInt,
    }
}

diesel::table! {
    freeze_overrides (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        package_id -> Nullable<BigInt>,
        region_task_id -> Nullable<BigInt>,
        windows -> Text,
        reason -> Text,
        by_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(freeze_window_regions -> freeze_windows (window_id));
diesel::joinable!(freeze_window_regions -> regions (region_id));

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
        email -> Text,
        digest_hour -> Nullable<Integer>,
        test_email_at -> Nullable<Timestamp>,
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
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Text,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idem_key) {
        user_id -> BigInt,
        idem_key -> Text,
        fingerprint -> Text,
        status -> Integer,
        body -> Text,
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
        last_seen_at -> Timestamp,
        user_agent -> Text,
        client_ip -> Text,
    }
}

diesel::table! {
    scripts (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        path -> Text,
        script_type -> Text,
        draft_content -> Text,
        schedule -> Text,
        description -> Text,
        owner_id -> Nullable<BigInt>,
        latest_version -> Integer,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    script_versions (id) {
        id -> BigInt,
        script_id -> BigInt,
        number -> Integer,
        content -> Text,
        message -> Text,
        script_type -> Text,
        schedule -> Text,
        submitted_by -> Nullable<BigInt>,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    release_packages (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        applicant_id -> BigInt,
        comment -> Text,
        status -> Text,
        needs_approval -> Bool,
        quorum -> Text,
        applied_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        released_by -> Nullable<BigInt>,
        release_started_at -> Nullable<Timestamp>,
        released_at -> Nullable<Timestamp>,
        task_count -> Integer,
        done_count -> Integer,
        failed_count -> Integer,
    }
}

diesel::table! {
    package_reviewers (package_id, reviewer_id) {
        package_id -> BigInt,
        applicant_id -> BigInt,
        reviewer_id -> BigInt,
        decision -> Nullable<Text>,
        comment -> Text,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    release_tasks (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        script_id -> BigInt,
        version_id -> BigInt,
        name -> Text,
        version_number -> Integer,
        status -> Text,
        submitted_by -> Nullable<BigInt>,
        submitted_at -> Timestamp,
        package_id -> Nullable<BigInt>,
        status_reason -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    package_tasks (package_id, task_id) {
        package_id -> BigInt,
        task_id -> BigInt,
        position -> Integer,
        release_status -> Text,
        startup_status -> Text,
        message -> Text,
        finished_at -> Nullable<Timestamp>,
        script_id -> BigInt,
    }
}

diesel::table! {
    production_scripts (script_id) {
        script_id -> BigInt,
        workspace_id -> BigInt,
        version_id -> BigInt,
        version_number -> Integer,
        content -> Text,
        script_type -> Text,
        schedule -> Text,
        package_id -> Nullable<BigInt>,
        released_by -> Nullable<BigInt>,
        released_at -> Timestamp,
        startup_status -> Text,
        startup_message -> Text,
        path -> Text,
    }
}

diesel::table! {
    production_history (id) {
        id -> BigInt,
        script_id -> BigInt,
        version_id -> BigInt,
        version_number -> Integer,
        package_id -> Nullable<BigInt>,
        released_by -> Nullable<BigInt>,
        released_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        queue -> Text,
        payload -> Text,
        status -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Integer,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_error -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    regions (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        display_order -> Integer,
        driver -> Text,
        webhook_url -> Text,
        webhook_secret -> Text,
        timeout_ms -> Integer,
        max_attempts -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    components (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        artifact -> Text,
        version -> Text,
        instances -> Integer,
        cpu_millis -> Integer,
        memory_mib -> Integer,
        env -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    region_tasks (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        description -> Text,
        operation -> Text,
        source_region_id -> Nullable<BigInt>,
        best_effort -> Bool,
        status -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        released_by -> Nullable<BigInt>,
        released_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    region_task_steps (id) {
        id -> BigInt,
        task_id -> BigInt,
        position -> Integer,
        kind -> Text,
        region_id -> Nullable<BigInt>,
        status -> Text,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        message -> Text,
    }
}

diesel::table! {
    step_components (step_id, component_id) {
        step_id -> BigInt,
        component_id -> BigInt,
    }
}

diesel::table! {
    step_people (step_id, user_id) {
        step_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    step_comments (id) {
        id -> BigInt,
        step_id -> BigInt,
        user_id -> BigInt,
        decision -> Nullable<Text>,
        comment -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    region_executions (id) {
        id -> BigInt,
        task_id -> BigInt,
        kind -> Text,
        start_position -> Integer,
        started_by -> Nullable<BigInt>,
        reason -> Text,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    inventory_entries (id) {
        id -> BigInt,
        region_id -> BigInt,
        component_id -> BigInt,
        present -> Bool,
        version -> Text,
        config -> Text,
        recorded_at -> Timestamp,
        task_id -> Nullable<BigInt>,
        execution_id -> Nullable<BigInt>,
        note -> Text,
    }
}

diesel::table! {
    execution_results (id) {
        id -> BigInt,
        execution_id -> BigInt,
        step_id -> BigInt,
        region_id -> BigInt,
        component_id -> BigInt,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        message -> Text,
        previous_entry_id -> Nullable<BigInt>,
        new_entry_id -> Nullable<BigInt>,
        response_body -> Nullable<Text>,
    }
}

diesel::joinable!(region_task_steps -> region_tasks (task_id));
diesel::joinable!(region_task_steps -> regions (region_id));
diesel::joinable!(step_components -> region_task_steps (step_id));
diesel::table! {
    notifications (id) {
        id -> BigInt,
        delivery_id -> Text,
        kind -> Text,
        workspace_id -> BigInt,
        package_id -> Nullable<BigInt>,
        region_task_id -> Nullable<BigInt>,
        step_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        hook_id -> Nullable<BigInt>,
        channel -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(step_components -> components (component_id));
diesel::joinable!(step_people -> region_task_steps (step_id));
diesel::joinable!(step_people -> users (user_id));
diesel::joinable!(step_comments -> region_task_steps (step_id));
diesel::joinable!(step_comments -> users (user_id));
diesel::joinable!(region_executions -> region_tasks (task_id));
diesel::joinable!(inventory_entries -> regions (region_id));
diesel::joinable!(inventory_entries -> components (component_id));
diesel::joinable!(execution_results -> region_executions (execution_id));
diesel::joinable!(execution_results -> region_task_steps (step_id));
diesel::joinable!(execution_results -> components (component_id));

diesel::joinable!(script_versions -> scripts (script_id));
diesel::joinable!(release_tasks -> scripts (script_id));
diesel::joinable!(release_tasks -> script_versions (version_id));
diesel::joinable!(package_tasks -> release_tasks (task_id));
diesel::joinable!(package_tasks -> release_packages (package_id));
diesel::joinable!(package_reviewers -> release_packages (package_id));
diesel::joinable!(production_scripts -> scripts (script_id));
diesel::joinable!(production_scripts -> script_versions (version_id));

diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(workspace_reviewers -> workspaces (workspace_id));
diesel::joinable!(workspace_reviewers -> users (user_id));
diesel::joinable!(audit_log -> users (actor_id));

diesel::table! {
    notification_hooks (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        format -> Text,
        url -> Text,
        secret -> Text,
        is_active -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_hook_events (hook_id, kind) {
        hook_id -> BigInt,
        kind -> Text,
    }
}

diesel::table! {
    notification_preferences (user_id, kind) {
        user_id -> BigInt,
        kind -> Text,
        email -> Bool,
    }
}

diesel::joinable!(notification_hook_events -> notification_hooks (hook_id));
diesel::joinable!(notifications -> notification_hooks (hook_id));
diesel::joinable!(notification_preferences -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    workspaces,
    memberships,
    workspace_reviewers,
    audit_log,
    login_failures,
    api_tokens,
    idempotency_keys,
    instance_secrets,
    user_sessions,
    scripts,
    script_versions,
    release_packages,
    package_reviewers,
    release_tasks,
    package_tasks,
    production_scripts,
    production_history,
    jobs,
    regions,
    components,
    region_tasks,
    region_task_steps,
    step_components,
    step_people,
    step_comments,
    region_executions,
    inventory_entries,
    execution_results,
    notifications,
    notification_hooks,
    notification_hook_events,
    notification_preferences,
    freeze_windows,
    freeze_window_regions,
    freeze_overrides,
);
