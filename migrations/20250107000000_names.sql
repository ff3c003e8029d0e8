-- One word per meaning: the embedded UI's tokens are `ui_tokens`, and the browser state kept
-- per credential (cookies and localStorage) is `browser_state`.
ALTER TABLE ui_sessions RENAME TO ui_tokens;
DROP INDEX ui_sessions_expires_at;
CREATE INDEX ui_tokens_expires_at ON ui_tokens (expires_at);
ALTER TABLE credentials RENAME COLUMN session TO browser_state;
