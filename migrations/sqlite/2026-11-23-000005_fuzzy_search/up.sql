-- Fuzzy name search (src/search.rs): an external-content FTS5 table with the trigram
-- tokenizer per searchable name column, kept in step with its table by triggers. It replaces
-- the hand-made name_trigrams index. Case-insensitive; diacritics are kept (the trigram
-- tokenizer's default, remove_diacritics 0, not spelled out so that SQLite tools older than 3.45
-- can still open the table), so that SQLite and PostgreSQL (no unaccent) match the same names.
DROP TABLE name_trigrams;

CREATE VIRTUAL TABLE release_tasks_fts USING fts5(name, content='release_tasks', content_rowid='id', tokenize='trigram case_sensitive 0');
INSERT INTO release_tasks_fts(release_tasks_fts) VALUES ('rebuild');
CREATE TRIGGER release_tasks_fts_insert AFTER INSERT ON release_tasks BEGIN
    INSERT INTO release_tasks_fts(rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER release_tasks_fts_delete AFTER DELETE ON release_tasks BEGIN
    INSERT INTO release_tasks_fts(release_tasks_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER release_tasks_fts_update AFTER UPDATE OF name ON release_tasks BEGIN
    INSERT INTO release_tasks_fts(release_tasks_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO release_tasks_fts(rowid, name) VALUES (new.id, new.name);
END;

CREATE VIRTUAL TABLE release_packages_fts USING fts5(name, content='release_packages', content_rowid='id', tokenize='trigram case_sensitive 0');
INSERT INTO release_packages_fts(release_packages_fts) VALUES ('rebuild');
CREATE TRIGGER release_packages_fts_insert AFTER INSERT ON release_packages BEGIN
    INSERT INTO release_packages_fts(rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER release_packages_fts_delete AFTER DELETE ON release_packages BEGIN
    INSERT INTO release_packages_fts(release_packages_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER release_packages_fts_update AFTER UPDATE OF name ON release_packages BEGIN
    INSERT INTO release_packages_fts(release_packages_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO release_packages_fts(rowid, name) VALUES (new.id, new.name);
END;

CREATE VIRTUAL TABLE scripts_fts USING fts5(path, content='scripts', content_rowid='id', tokenize='trigram case_sensitive 0');
INSERT INTO scripts_fts(scripts_fts) VALUES ('rebuild');
CREATE TRIGGER scripts_fts_insert AFTER INSERT ON scripts BEGIN
    INSERT INTO scripts_fts(rowid, path) VALUES (new.id, new.path);
END;
CREATE TRIGGER scripts_fts_delete AFTER DELETE ON scripts BEGIN
    INSERT INTO scripts_fts(scripts_fts, rowid, path) VALUES ('delete', old.id, old.path);
END;
CREATE TRIGGER scripts_fts_update AFTER UPDATE OF path ON scripts BEGIN
    INSERT INTO scripts_fts(scripts_fts, rowid, path) VALUES ('delete', old.id, old.path);
    INSERT INTO scripts_fts(rowid, path) VALUES (new.id, new.path);
END;

CREATE VIRTUAL TABLE region_tasks_fts USING fts5(name, content='region_tasks', content_rowid='id', tokenize='trigram case_sensitive 0');
INSERT INTO region_tasks_fts(region_tasks_fts) VALUES ('rebuild');
CREATE TRIGGER region_tasks_fts_insert AFTER INSERT ON region_tasks BEGIN
    INSERT INTO region_tasks_fts(rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER region_tasks_fts_delete AFTER DELETE ON region_tasks BEGIN
    INSERT INTO region_tasks_fts(region_tasks_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER region_tasks_fts_update AFTER UPDATE OF name ON region_tasks BEGIN
    INSERT INTO region_tasks_fts(region_tasks_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO region_tasks_fts(rowid, name) VALUES (new.id, new.name);
END;

-- The Tasks tab sorted by name (every other filter and sort has its index since 000002).
CREATE INDEX release_tasks_ws_name ON release_tasks (workspace_id, name, version_number);
