UPDATE execution_results
SET message = message || ': ' || response_body
WHERE response_body IS NOT NULL;
ALTER TABLE execution_results DROP COLUMN response_body;
