-- Patients' own blocks made as FHIR Consent (issue 13), PostgreSQL: a
-- block of every health worker (everyone = 1, no recipient named), and a
-- block limited to the documents one organisation authored
-- (source_org_nr).
ALTER TABLE patient_blocks ADD COLUMN everyone INTEGER NOT NULL DEFAULT 0;
ALTER TABLE patient_blocks ADD COLUMN source_org_nr TEXT NOT NULL DEFAULT '';
