-- Patients' blocks (sperringer), version 1 (PostgreSQL). A block is never
-- deleted: lifting it sets valid_to. IF NOT EXISTS: databases made before
-- the one migration runner got this table from blocks.Open itself, with
-- exactly these columns and index, and no bookkeeping row; this migration
-- adopts them.
CREATE TABLE IF NOT EXISTS patient_blocks (
    id                  TEXT PRIMARY KEY,
    patient_id          TEXT NOT NULL,
    practitioner_id     TEXT NOT NULL DEFAULT '',
    hpr_number          TEXT NOT NULL DEFAULT '',
    org_nr              TEXT NOT NULL DEFAULT '',
    document_unique_ids TEXT NOT NULL DEFAULT '[]',
    valid_from          TIMESTAMPTZ,
    valid_to            TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS patient_blocks_patient ON patient_blocks (patient_id);
