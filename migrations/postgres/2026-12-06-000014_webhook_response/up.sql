-- A webhook receiver's answer is kept apart from the result's message: every member reads the
-- message on Release History ("HTTP 500 (after 3 attempts)"), only workspace admins the answer
-- (issue 20, finding 7). Results written before kept the answer in the message as
-- "HTTP 200: <answer>" or "HTTP 500: <answer> (after N attempt(s))": the answer (with that
-- suffix) moves here, and the message keeps "HTTP 200". Audit rows written before are not
-- rewritten (the audit log refuses UPDATE).
ALTER TABLE execution_results ADD COLUMN response_body TEXT;
UPDATE execution_results
SET response_body = NULLIF(substr(message, 11), ''),
    message = substr(message, 1, 8)
WHERE message LIKE 'HTTP ___: %';
