-- Documents dated before this day (ISO YYYY-MM-DD) are not collected for the credential.
ALTER TABLE credentials ADD COLUMN since TEXT NULL;
