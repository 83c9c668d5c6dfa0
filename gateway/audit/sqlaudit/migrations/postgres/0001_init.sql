-- The audit log: one row per sealed record, the document ids it names,
-- and one head checkpoint per committed batch. Rows are only ever
-- inserted. The run-time role gets INSERT and SELECT only (see
-- AppendOnlyGrants); the triggers below refuse UPDATE, DELETE and
-- TRUNCATE even for roles that have those privileges.
CREATE TABLE audit_records (
    seq              BIGINT  PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    recorded_ms      BIGINT  NOT NULL,
    transaction_code TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    patient_id       TEXT    NOT NULL DEFAULT '',
    actor_pid        TEXT    NOT NULL DEFAULT '',
    actor_hpr        TEXT    NOT NULL DEFAULT '',
    purpose_code     TEXT    NOT NULL DEFAULT '',
    flagged          BOOLEAN NOT NULL DEFAULT FALSE,
    key_id           TEXT    NOT NULL,
    prev_hash        BYTEA   NOT NULL,
    hash             BYTEA   NOT NULL,
    body             TEXT    NOT NULL
);
CREATE INDEX audit_records_patient   ON audit_records (patient_id, seq);
CREATE INDEX audit_records_actor_pid ON audit_records (actor_pid, seq);
CREATE INDEX audit_records_actor_hpr ON audit_records (actor_hpr, seq);
CREATE INDEX audit_records_time      ON audit_records (recorded_ms);
CREATE INDEX audit_records_flagged   ON audit_records (seq) WHERE flagged;

CREATE TABLE audit_record_entities (
    seq       BIGINT NOT NULL,
    entity_id TEXT   NOT NULL,
    PRIMARY KEY (seq, entity_id)
);
CREATE INDEX audit_record_entities_entity ON audit_record_entities (entity_id, seq);

CREATE TABLE audit_heads (
    seq         BIGINT PRIMARY KEY,
    hash        BYTEA  NOT NULL,
    key_id      TEXT   NOT NULL,
    recorded_ms BIGINT NOT NULL
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pjd audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_record_entities_append_only BEFORE UPDATE OR DELETE ON audit_record_entities
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_record_entities_no_truncate BEFORE TRUNCATE ON audit_record_entities
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
