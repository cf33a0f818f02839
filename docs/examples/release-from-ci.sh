#!/usr/bin/env bash
# Release a script from CI: submit its new content as the next version, release it for review,
# and wait until it is live. The exit code says how it went: 0 released (or nothing to release),
# 1 anything else (rejected, failed, partially failed, revoked). See docs/API.md.
#
#   RELEASEDESK_URL    https://releases.example.com
#   RELEASEDESK_TOKEN  a write token (Account page, or `releasedesk token create`)
#   WORKSPACE          the workspace's slug, e.g. demo
#   SCRIPT_ID          the script to release (its id is in its page's address)
#   SCRIPT_FILE        the file holding the new content
#   REVIEWERS          who reviews it, usernames separated by commas (e.g. bob,carol)
#   SCRIPT_TYPE        the script's type (default sql); MESSAGE the version's message
#   RUN_ID             makes retries safe (default: the time); CI_PIPELINE_ID fits
set -euo pipefail

# One API call: prints the answer; on an error prints its problem's `detail` and fails.
api() {
  local out
  if ! out=$(curl -sS --fail-with-body \
               -H "Authorization: Bearer $RELEASEDESK_TOKEN" \
               -H "Content-Type: application/json" "$@"); then
    echo "releasedesk: $(jq -r '.detail // .' <<<"$out" 2>/dev/null || echo "$out")" >&2
    return 1
  fi
  printf '%s' "$out"
}
base="$RELEASEDESK_URL/api/v1/workspaces/$WORKSPACE"
run="${RUN_ID:-$(date +%s)}"

# 1. Submit the content as the next version: the answer holds the new release task. A retry of
#    the same run (same RUN_ID) gets the first answers back and creates nothing twice.
task=$(jq -n --rawfile content "$SCRIPT_FILE" \
          --arg type "${SCRIPT_TYPE:-sql}" --arg message "${MESSAGE:-released from CI}" \
          '{message: $message, draft: {script_type: $type, content: $content}}' |
       api -X POST "$base/scripts/$SCRIPT_ID/versions" \
           -H "Idempotency-Key: submit-$run" --data-binary @- |
       jq -r '.task.id // empty')
if [ -z "$task" ]; then
  echo "this content is what production runs already: nothing to release"
  exit 0
fi

# 2. Release the task as a package for the reviewers.
package=$(jq -n --argjson task "$task" --arg name "CI run $run" --arg reviewers "$REVIEWERS" \
             '{task_ids: [$task], name: $name, reviewers: ($reviewers | split(","))}' |
          api -X POST "$base/packages" -H "Idempotency-Key: release-$run" --data-binary @- |
          jq -r '.id')
echo "package $package: $RELEASEDESK_URL/workspaces/$WORKSPACE/task-release/packages/$package"

# 3. Wait: each call returns when the package changes, or after 30 s.
while :; do
  state=$(api "$base/packages/$package?wait=30s")
  status=$(jq -r '.status' <<<"$state")
  echo "package $package: $status"
  [ "$(jq -r '.finished' <<<"$state")" = true ] && break
done
[ "$status" = released ]
