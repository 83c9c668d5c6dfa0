-- Registry schema, version 1 (SQLite). Kept in step with
-- registry/postgres/migrations/0001_init.sql: same tables, columns and
-- indexes; only the types differ.
--
-- Every object table: seq (registration order), the columns filters use,
-- and body, the whole object as JSON. DTM query columns hold the value
-- normalised to 14 digits, NULL when the attribute is absent.

CREATE TABLE documents (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    lid                TEXT NOT NULL,
    unique_id          TEXT NOT NULL,
    patient_id         TEXT NOT NULL,
    status             TEXT NOT NULL,
    object_type        TEXT NOT NULL,
    class_code         TEXT NOT NULL,
    class_scheme       TEXT NOT NULL,
    type_code          TEXT NOT NULL,
    type_scheme        TEXT NOT NULL,
    practice_code      TEXT NOT NULL,
    practice_scheme    TEXT NOT NULL,
    facility_code      TEXT NOT NULL,
    facility_scheme    TEXT NOT NULL,
    format_code        TEXT NOT NULL,
    format_scheme      TEXT NOT NULL,
    creation_time      TEXT,
    service_start_time TEXT,
    service_stop_time  TEXT,
    body               TEXT NOT NULL
) STRICT;
-- FindDocuments / GetAll: patient + status, in registration order.
CREATE INDEX documents_patient_status ON documents (patient_id, status, seq);
CREATE INDEX documents_unique_id ON documents (unique_id);
CREATE INDEX documents_lid ON documents (lid);

CREATE TABLE document_confidentiality (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    code    TEXT NOT NULL,
    scheme  TEXT NOT NULL
) STRICT;
CREATE INDEX document_confidentiality_doc ON document_confidentiality (doc_seq);

CREATE TABLE document_events (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    code    TEXT NOT NULL,
    scheme  TEXT NOT NULL
) STRICT;
CREATE INDEX document_events_doc ON document_events (doc_seq);

CREATE TABLE document_authors (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    person  TEXT NOT NULL
) STRICT;
CREATE INDEX document_authors_doc ON document_authors (doc_seq);

CREATE TABLE document_references (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    ref     TEXT NOT NULL
) STRICT;
CREATE INDEX document_references_doc ON document_references (doc_seq);

CREATE TABLE submission_sets (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    unique_id       TEXT NOT NULL UNIQUE,
    patient_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    submission_time TEXT,
    content_code    TEXT NOT NULL,
    content_scheme  TEXT NOT NULL,
    body            TEXT NOT NULL
) STRICT;
CREATE INDEX submission_sets_patient_status ON submission_sets (patient_id, status, seq);

CREATE TABLE submission_set_authors (
    set_seq INTEGER NOT NULL REFERENCES submission_sets (seq) ON DELETE CASCADE,
    person  TEXT NOT NULL
) STRICT;
CREATE INDEX submission_set_authors_set ON submission_set_authors (set_seq);

CREATE TABLE folders (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    lid              TEXT NOT NULL,
    unique_id        TEXT NOT NULL UNIQUE,
    patient_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    last_update_time TEXT NOT NULL,
    last_update_norm TEXT,
    body             TEXT NOT NULL
) STRICT;
CREATE INDEX folders_patient_status ON folders (patient_id, status, seq);
CREATE INDEX folders_lid ON folders (lid);

CREATE TABLE folder_codes (
    folder_seq INTEGER NOT NULL REFERENCES folders (seq) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    scheme     TEXT NOT NULL
) STRICT;
CREATE INDEX folder_codes_folder ON folder_codes (folder_seq);

CREATE TABLE associations (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    id     TEXT NOT NULL UNIQUE,
    type   TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    body   TEXT NOT NULL
) STRICT;
CREATE INDEX associations_source ON associations (source);
CREATE INDEX associations_target ON associations (target);
