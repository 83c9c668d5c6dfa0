-- The audit log: one row per sealed record, the document ids it names,
-- and one head checkpoint per committed batch. Rows are only ever
-- inserted; the triggers below refuse UPDATE and DELETE.
CREATE TABLE audit_records (
    seq              INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    recorded_ms      INTEGER NOT NULL,
    transaction_code TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    patient_id       TEXT    NOT NULL DEFAULT '',
    actor_pid        TEXT    NOT NULL DEFAULT '',
    actor_hpr        TEXT    NOT NULL DEFAULT '',
    purpose_code     TEXT    NOT NULL DEFAULT '',
    flagged          INTEGER NOT NULL DEFAULT 0,
    key_id           TEXT    NOT NULL,
    prev_hash        BLOB    NOT NULL,
    hash             BLOB    NOT NULL,
    body             TEXT    NOT NULL
);
CREATE INDEX audit_records_patient   ON audit_records (patient_id, seq);
CREATE INDEX audit_records_actor_pid ON audit_records (actor_pid, seq);
CREATE INDEX audit_records_actor_hpr ON audit_records (actor_hpr, seq);
CREATE INDEX audit_records_time      ON audit_records (recorded_ms);
CREATE INDEX audit_records_flagged   ON audit_records (seq) WHERE flagged = 1;

CREATE TABLE audit_record_entities (
    seq       INTEGER NOT NULL,
    entity_id TEXT    NOT NULL,
    PRIMARY KEY (seq, entity_id)
);
CREATE INDEX audit_record_entities_entity ON audit_record_entities (entity_id, seq);

CREATE TABLE audit_heads (
    seq         INTEGER PRIMARY KEY,
    hash        BLOB    NOT NULL,
    key_id      TEXT    NOT NULL,
    recorded_ms INTEGER NOT NULL
);

CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_record_entities_no_update BEFORE UPDATE ON audit_record_entities
BEGIN SELECT RAISE(ABORT, 'audit_record_entities is append-only'); END;
CREATE TRIGGER audit_record_entities_no_delete BEFORE DELETE ON audit_record_entities
BEGIN SELECT RAISE(ABORT, 'audit_record_entities is append-only'); END;
CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit_heads is append-only'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit_heads is append-only'); END;
