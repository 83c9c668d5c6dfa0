-- Registry schema, version 2 (SQLite): the document lifecycle of issue 13
-- (ITI-57 versions, $MetadataLevel, ITI-62 removal, patient identity
-- links). Kept in step with registry/postgres/migrations/0002_lifecycle.sql;
-- see there for what the columns mean.

ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN latest  INTEGER NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
UPDATE documents
   SET version = CASE WHEN json_extract(body, '$.version') GLOB '[0-9]*'
                       AND NOT json_extract(body, '$.version') GLOB '*[^0-9]*'
                       AND length(json_extract(body, '$.version')) BETWEEN 1 AND 9
                      THEN CAST(json_extract(body, '$.version') AS INTEGER) ELSE 1 END,
       offline = coalesce(json_extract(body, '$.documentAvailability'), '') = 'urn:ihe:iti:2010:DocumentAvailability:Offline';
UPDATE documents
   SET latest = 0
 WHERE EXISTS (SELECT 1 FROM documents n WHERE n.lid = documents.lid AND n.version > documents.version);
DROP INDEX documents_lid;
CREATE UNIQUE INDEX documents_lid_version ON documents (lid, version);

-- Folder versions share their uniqueId, so the table's UNIQUE (unique_id)
-- goes: SQLite cannot drop a column constraint, so folders and
-- folder_codes (which references it) are rebuilt. folder_codes_new is
-- created first and the old folder_codes dropped before folders, so no
-- ON DELETE CASCADE fires; the renames carry the references along.
CREATE TABLE folders_new (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    lid              TEXT NOT NULL,
    unique_id        TEXT NOT NULL,
    patient_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    last_update_time TEXT NOT NULL,
    last_update_norm TEXT,
    body             TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    latest           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (unique_id, version),
    UNIQUE (lid, version)
) STRICT;
INSERT INTO folders_new (seq, id, lid, unique_id, patient_id, status, last_update_time, last_update_norm, body, version)
SELECT seq, id, lid, unique_id, patient_id, status, last_update_time, last_update_norm, body,
       CASE WHEN json_extract(body, '$.version') GLOB '[0-9]*'
             AND NOT json_extract(body, '$.version') GLOB '*[^0-9]*'
             AND length(json_extract(body, '$.version')) BETWEEN 1 AND 9
            THEN CAST(json_extract(body, '$.version') AS INTEGER) ELSE 1 END
  FROM folders;
UPDATE folders_new
   SET latest = 0
 WHERE EXISTS (SELECT 1 FROM folders_new n WHERE n.lid = folders_new.lid AND n.version > folders_new.version);
CREATE TABLE folder_codes_new (
    folder_seq INTEGER NOT NULL REFERENCES folders_new (seq) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    scheme     TEXT NOT NULL
) STRICT;
INSERT INTO folder_codes_new (folder_seq, code, scheme) SELECT folder_seq, code, scheme FROM folder_codes;
DROP TABLE folder_codes;
DROP TABLE folders;
ALTER TABLE folders_new RENAME TO folders;
ALTER TABLE folder_codes_new RENAME TO folder_codes;
CREATE INDEX folders_patient_status ON folders (patient_id, status, seq);
CREATE INDEX folder_codes_folder ON folder_codes (folder_seq);

-- Patient identity links (registry/links.go).
CREATE TABLE patient_links (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    from_pid      TEXT NOT NULL,
    to_pid        TEXT NOT NULL,
    linked_at     TEXT NOT NULL,
    linked_by     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    unlinked_at   TEXT,
    unlinked_by   TEXT,
    unlink_reason TEXT
) STRICT;
CREATE UNIQUE INDEX patient_links_active_from ON patient_links (from_pid) WHERE unlinked_at IS NULL;
CREATE INDEX patient_links_active_to ON patient_links (to_pid) WHERE unlinked_at IS NULL;
CREATE INDEX patient_links_from ON patient_links (from_pid);
CREATE INDEX patient_links_to ON patient_links (to_pid);
