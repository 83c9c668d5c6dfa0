-- A SQLite file as the pjd of commit 5bb05c4 left it, before the one
-- migration runner (registry/schema): the registry's tables with its own
-- bookkeeping (schema_migrations, with checksums), the audit log's tables
-- with theirs (audit_schema_migrations), and the patient_blocks table that
-- blocks.Open created without any. It holds one registration (patient
-- SyntheticFnr(4242), two documents), three audit records sealed with
-- audittest.Key, and one block (legacy-block-1): every table's CREATE, its
-- rows, then its indexes and triggers, from sqlite_master in rowid order.
-- Never edit it: it stands for databases in use. cmd/pjd
-- TestMigrateLegacyDatabase migrates it forward.
CREATE TABLE schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			checksum   TEXT NOT NULL,
			applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
		) STRICT;
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
CREATE TABLE document_confidentiality (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    code    TEXT NOT NULL,
    scheme  TEXT NOT NULL
) STRICT;
CREATE TABLE document_events (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    code    TEXT NOT NULL,
    scheme  TEXT NOT NULL
) STRICT;
CREATE TABLE document_authors (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    person  TEXT NOT NULL
) STRICT;
CREATE TABLE document_references (
    doc_seq INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
    ref     TEXT NOT NULL
) STRICT;
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
CREATE TABLE submission_set_authors (
    set_seq INTEGER NOT NULL REFERENCES submission_sets (seq) ON DELETE CASCADE,
    person  TEXT NOT NULL
) STRICT;
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
CREATE TABLE folder_codes (
    folder_seq INTEGER NOT NULL REFERENCES folders (seq) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    scheme     TEXT NOT NULL
) STRICT;
CREATE TABLE associations (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    id     TEXT NOT NULL UNIQUE,
    type   TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    body   TEXT NOT NULL
) STRICT;
CREATE TABLE audit_schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_ms BIGINT  NOT NULL
);
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
CREATE TABLE audit_record_entities (
    seq       INTEGER NOT NULL,
    entity_id TEXT    NOT NULL,
    PRIMARY KEY (seq, entity_id)
);
CREATE TABLE audit_heads (
    seq         INTEGER PRIMARY KEY,
    hash        BLOB    NOT NULL,
    key_id      TEXT    NOT NULL,
    recorded_ms INTEGER NOT NULL
);
CREATE TABLE patient_blocks (
			id TEXT PRIMARY KEY,
			patient_id TEXT NOT NULL,
			practitioner_id TEXT NOT NULL DEFAULT '',
			hpr_number TEXT NOT NULL DEFAULT '',
			org_nr TEXT NOT NULL DEFAULT '',
			document_unique_ids TEXT NOT NULL DEFAULT '[]',
			valid_from TEXT,
			valid_to TEXT,
			created_at TEXT NOT NULL
		);
INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (1, '0001_init.sql', '998a2ab4aa46726bb2cf22f0164cd3d2f19d31813ba95d311611febec8e89b14', '2026-12-07T19:06:09.630Z');
INSERT INTO documents (seq, id, lid, unique_id, patient_id, status, object_type, class_code, class_scheme, type_code, type_scheme, practice_code, practice_scheme, facility_code, facility_scheme, format_code, format_scheme, creation_time, service_start_time, service_stop_time, body) VALUES (1, 'urn:uuid:7598a823-1864-4f62-88da-b53514e75e37', 'urn:uuid:7598a823-1864-4f62-88da-b53514e75e37', '2.999.578.1.4242.2.1', '13886100064^^^&2.16.578.1.12.4.1.4.1&ISO', 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1', 'A00-1', '2.16.578.1.12.4.1.1.9602', 'A03-2', '2.16.578.1.12.4.1.1.9602', 'S03', '2.16.578.1.12.4.1.1.8655', '86.101', '2.16.578.1.12.4.1.1.1303', 'urn:ihe:iti:xds:2017:mimeTypeSufficient', '1.3.6.1.4.1.19376.1.2.3', '20240115100000', '20240112100000', '20240115080000', '{"id":"urn:uuid:7598a823-1864-4f62-88da-b53514e75e37","lid":"urn:uuid:7598a823-1864-4f62-88da-b53514e75e37","version":"1","status":"urn:oasis:names:tc:ebxml-regrep:StatusType:Approved","objectType":"urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1","uniqueId":"2.999.578.1.4242.2.1","patientId":"13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","mimeType":"text/plain","title":"Epikrise 1","languageCode":"nb-NO","creationTime":"20240115100000","serviceStartTime":"20240112100000","serviceStopTime":"20240115080000","hash":"721f0e6e06cbee9f9c80cfa4975facf1e3c98515","size":202,"repositoryUniqueId":"2.999.578.3","sourcePatientId":"13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","sourcePatientInfo":["PID-3|13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","PID-5|Testesen^Syntetisk"],"legalAuthenticator":"100000001^Testlege^Kari^^^^^^\u00262.16.578.1.12.4.1.4.4\u0026ISO","authors":[{"person":"100000001^Testlege^Kari^^^^^^\u00262.16.578.1.12.4.1.4.4\u0026ISO","institutions":["Syntetisk sykehus HF^^^^^\u00262.16.578.1.12.4.1.4.101\u0026ISO^^^^991919198"],"roles":["Behandlingsansvarlig lege"],"specialties":["Indremedisin"],"telecoms":["^NET^Internet^kari.testlege@example.no"]}],"classCode":{"code":"A00-1","scheme":"2.16.578.1.12.4.1.1.9602","display":"Epikriser og Sammenfatninger"},"typeCode":{"code":"A03-2","scheme":"2.16.578.1.12.4.1.1.9602","display":"Epikrise"},"formatCode":{"code":"urn:ihe:iti:xds:2017:mimeTypeSufficient","scheme":"1.3.6.1.4.1.19376.1.2.3","display":"mimeType Sufficient"},"healthcareFacilityTypeCode":{"code":"86.101","scheme":"2.16.578.1.12.4.1.1.1303","display":"Alminnelige somatiske sykehus"},"practiceSettingCode":{"code":"S03","scheme":"2.16.578.1.12.4.1.1.8655","display":"Indremedisin"},"confidentialityCodes":[{"code":"N","scheme":"2.16.578.1.12.4.1.1.9603","display":"Normal"}]}');
INSERT INTO documents (seq, id, lid, unique_id, patient_id, status, object_type, class_code, class_scheme, type_code, type_scheme, practice_code, practice_scheme, facility_code, facility_scheme, format_code, format_scheme, creation_time, service_start_time, service_stop_time, body) VALUES (2, 'urn:uuid:b1cb14d1-c1e1-44ba-ad54-2c172d544cb7', 'urn:uuid:b1cb14d1-c1e1-44ba-ad54-2c172d544cb7', '2.999.578.1.4242.2.2', '13886100064^^^&2.16.578.1.12.4.1.4.1&ISO', 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1', 'A00-1', '2.16.578.1.12.4.1.1.9602', 'A03-2', '2.16.578.1.12.4.1.1.9602', 'S03', '2.16.578.1.12.4.1.1.8655', '86.101', '2.16.578.1.12.4.1.1.1303', 'urn:ihe:iti:xds:2017:mimeTypeSufficient', '1.3.6.1.4.1.19376.1.2.3', '20240115100000', '20240112100000', '20240115080000', '{"id":"urn:uuid:b1cb14d1-c1e1-44ba-ad54-2c172d544cb7","lid":"urn:uuid:b1cb14d1-c1e1-44ba-ad54-2c172d544cb7","version":"1","status":"urn:oasis:names:tc:ebxml-regrep:StatusType:Approved","objectType":"urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1","uniqueId":"2.999.578.1.4242.2.2","patientId":"13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","mimeType":"text/plain","title":"Epikrise 2","languageCode":"nb-NO","creationTime":"20240115100000","serviceStartTime":"20240112100000","serviceStopTime":"20240115080000","hash":"1a619a90b107015fbbd98a2ebaf48e422e375504","size":202,"repositoryUniqueId":"2.999.578.3","sourcePatientId":"13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","sourcePatientInfo":["PID-3|13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","PID-5|Testesen^Syntetisk"],"legalAuthenticator":"100000001^Testlege^Kari^^^^^^\u00262.16.578.1.12.4.1.4.4\u0026ISO","authors":[{"person":"100000001^Testlege^Kari^^^^^^\u00262.16.578.1.12.4.1.4.4\u0026ISO","institutions":["Syntetisk sykehus HF^^^^^\u00262.16.578.1.12.4.1.4.101\u0026ISO^^^^991919198"],"roles":["Behandlingsansvarlig lege"],"specialties":["Indremedisin"],"telecoms":["^NET^Internet^kari.testlege@example.no"]}],"classCode":{"code":"A00-1","scheme":"2.16.578.1.12.4.1.1.9602","display":"Epikriser og Sammenfatninger"},"typeCode":{"code":"A03-2","scheme":"2.16.578.1.12.4.1.1.9602","display":"Epikrise"},"formatCode":{"code":"urn:ihe:iti:xds:2017:mimeTypeSufficient","scheme":"1.3.6.1.4.1.19376.1.2.3","display":"mimeType Sufficient"},"healthcareFacilityTypeCode":{"code":"86.101","scheme":"2.16.578.1.12.4.1.1.1303","display":"Alminnelige somatiske sykehus"},"practiceSettingCode":{"code":"S03","scheme":"2.16.578.1.12.4.1.1.8655","display":"Indremedisin"},"confidentialityCodes":[{"code":"N","scheme":"2.16.578.1.12.4.1.1.9603","display":"Normal"}]}');
INSERT INTO document_confidentiality (doc_seq, code, scheme) VALUES (1, 'N', '2.16.578.1.12.4.1.1.9603');
INSERT INTO document_confidentiality (doc_seq, code, scheme) VALUES (2, 'N', '2.16.578.1.12.4.1.1.9603');
INSERT INTO document_authors (doc_seq, person) VALUES (1, '100000001^Testlege^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO');
INSERT INTO document_authors (doc_seq, person) VALUES (2, '100000001^Testlege^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO');
INSERT INTO submission_sets (seq, id, unique_id, patient_id, status, source_id, submission_time, content_code, content_scheme, body) VALUES (1, 'urn:uuid:b738a73e-17e7-4300-8787-5eb39a7ceb5e', '2.999.578.1.4242.1', '13886100064^^^&2.16.578.1.12.4.1.4.1&ISO', 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', '2.999.578.2', '20240115100000', 'A00-1', '2.16.578.1.12.4.1.1.9602', '{"id":"urn:uuid:b738a73e-17e7-4300-8787-5eb39a7ceb5e","status":"urn:oasis:names:tc:ebxml-regrep:StatusType:Approved","uniqueId":"2.999.578.1.4242.1","sourceId":"2.999.578.2","patientId":"13886100064^^^\u00262.16.578.1.12.4.1.4.1\u0026ISO","submissionTime":"20240115100000","title":"Syntetisk innsending","contentTypeCode":{"code":"A00-1","scheme":"2.16.578.1.12.4.1.1.9602","display":"Epikriser og Sammenfatninger"},"authors":[{"person":"100000001^Testlege^Kari^^^^^^\u00262.16.578.1.12.4.1.4.4\u0026ISO","institutions":["Syntetisk sykehus HF^^^^^\u00262.16.578.1.12.4.1.4.101\u0026ISO^^^^991919198"],"roles":["Behandlingsansvarlig lege"],"specialties":["Indremedisin"],"telecoms":["^NET^Internet^kari.testlege@example.no"]}]}');
INSERT INTO submission_set_authors (set_seq, person) VALUES (1, '100000001^Testlege^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO');
INSERT INTO associations (seq, id, type, source, target, status, body) VALUES (1, 'urn:uuid:5e4a45c4-8497-4242-bf6c-853f35e30965', 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', 'urn:uuid:b738a73e-17e7-4300-8787-5eb39a7ceb5e', 'urn:uuid:7598a823-1864-4f62-88da-b53514e75e37', 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', '{"id":"urn:uuid:5e4a45c4-8497-4242-bf6c-853f35e30965","type":"urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember","source":"urn:uuid:b738a73e-17e7-4300-8787-5eb39a7ceb5e","target":"urn:uuid:7598a823-1864-4f62-88da-b53514e75e37","status":"urn:oasis:names:tc:ebxml-regrep:StatusType:Approved","submissionSetStatus":"Original"}');
INSERT INTO associations (seq, id, type, source, target, status, body) VALUES (2, 'urn:uuid:635e8a3d-ec8d-4ef6-ae8c-f57d1c3539cd', 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', 'urn:uuid:b738a73e-17e7-4300-8787-5eb39a7ceb5e', 'urn:uuid:b1cb14d1-c1e1-44ba-ad54-2c172d544cb7', 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', '{"id":"urn:uuid:635e8a3d-ec8d-4ef6-ae8c-f57d1c3539cd","type":"urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember","source":"urn:uuid:b738a73e-17e7-4300-8787-5eb39a7ceb5e","target":"urn:uuid:b1cb14d1-c1e1-44ba-ad54-2c172d544cb7","status":"urn:oasis:names:tc:ebxml-regrep:StatusType:Approved","submissionSetStatus":"Original"}');
INSERT INTO audit_schema_migrations (version, name, applied_ms) VALUES (1, '0001_init.sql', 1796670369638);
INSERT INTO audit_schema_migrations (version, name, applied_ms) VALUES (2, '0002_no_replace.sql', 1796670369638);
INSERT INTO audit_records (seq, id, recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr, purpose_code, flagged, key_id, prev_hash, hash, body) VALUES (1, 'beb51fe9-2013-4ccf-9c75-a22622555ef0', 1710830701000, 'ITI-68', 'permit', '05876600309', '20886600284', '9144897', 'TREAT', 0, 'feb72967f32a5d00', X'0000000000000000000000000000000000000000000000000000000000000000', X'f9a9bfacafe86940bb3eeb8e40b3ab925050aa5cab9dc0d4e386e9f5f0b7c7b4', '{"v":1,"id":"beb51fe9-2013-4ccf-9c75-a22622555ef0","seq":1,"time":"2024-03-19T06:45:01Z","transaction":"ITI-68","action":"read","outcome":"permit","rule":"permit-treat","actor":{"kind":"health_worker","pid":"20886600284","name":"August September","hpr":"9144897"},"attestation":{"purpose_of_use":{"code":"TREAT"}},"patient_id":"05876600309","documents":[{"unique_id":"2.16.578.1.12.4.1.7.1.1.5001","disposition":"returned"}],"request_id":"req-0001"}');
INSERT INTO audit_records (seq, id, recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr, purpose_code, flagged, key_id, prev_hash, hash, body) VALUES (2, 'b7aaf1a8-008c-4b6c-bfe3-f81181739981', 1710830702000, 'ITI-68', 'permit', '12838104043', '20886600284', '9144897', 'TREAT', 0, 'feb72967f32a5d00', X'f9a9bfacafe86940bb3eeb8e40b3ab925050aa5cab9dc0d4e386e9f5f0b7c7b4', X'a7d38b8ed02a4993c71a9a590535b6fa8b0e9d299f53622f463487ad87b15c02', '{"v":1,"id":"b7aaf1a8-008c-4b6c-bfe3-f81181739981","seq":2,"time":"2024-03-19T06:45:02Z","transaction":"ITI-68","action":"read","outcome":"permit","rule":"permit-treat","actor":{"kind":"health_worker","pid":"20886600284","name":"August September","hpr":"9144897"},"attestation":{"purpose_of_use":{"code":"TREAT"}},"patient_id":"12838104043","documents":[{"unique_id":"2.16.578.1.12.4.1.7.1.1.5002","disposition":"returned"}],"request_id":"req-0002"}');
INSERT INTO audit_records (seq, id, recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr, purpose_code, flagged, key_id, prev_hash, hash, body) VALUES (3, 'ce220671-b923-4a28-a6c8-e369b7273a45', 1710830703000, 'ITI-68', 'permit', '05876600309', '20886600284', '9144897', 'TREAT', 0, 'feb72967f32a5d00', X'a7d38b8ed02a4993c71a9a590535b6fa8b0e9d299f53622f463487ad87b15c02', X'a383a9917d4b0e144ec27b605fb7019372fcb987ea0bd0088212e7b76cf4b7dd', '{"v":1,"id":"ce220671-b923-4a28-a6c8-e369b7273a45","seq":3,"time":"2024-03-19T06:45:03Z","transaction":"ITI-68","action":"read","outcome":"permit","rule":"permit-treat","actor":{"kind":"health_worker","pid":"20886600284","name":"August September","hpr":"9144897"},"attestation":{"purpose_of_use":{"code":"TREAT"}},"patient_id":"05876600309","documents":[{"unique_id":"2.16.578.1.12.4.1.7.1.1.5003","disposition":"returned"}],"request_id":"req-0003"}');
INSERT INTO audit_record_entities (seq, entity_id) VALUES (1, '2.16.578.1.12.4.1.7.1.1.5001');
INSERT INTO audit_record_entities (seq, entity_id) VALUES (2, '2.16.578.1.12.4.1.7.1.1.5002');
INSERT INTO audit_record_entities (seq, entity_id) VALUES (3, '2.16.578.1.12.4.1.7.1.1.5003');
INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) VALUES (2, X'a7d38b8ed02a4993c71a9a590535b6fa8b0e9d299f53622f463487ad87b15c02', 'feb72967f32a5d00', 1710830702000);
INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) VALUES (3, X'a383a9917d4b0e144ec27b605fb7019372fcb987ea0bd0088212e7b76cf4b7dd', 'feb72967f32a5d00', 1710830703000);
INSERT INTO patient_blocks (id, patient_id, practitioner_id, hpr_number, org_nr, document_unique_ids, valid_from, valid_to, created_at) VALUES ('legacy-block-1', '13886100064', '', '', '910000012', '[]', '2026-01-01T00:00:00.000000000Z', NULL, '2026-01-02T03:04:05.000000000Z');
CREATE INDEX documents_patient_status ON documents (patient_id, status, seq);
CREATE INDEX documents_unique_id ON documents (unique_id);
CREATE INDEX documents_lid ON documents (lid);
CREATE INDEX document_confidentiality_doc ON document_confidentiality (doc_seq);
CREATE INDEX document_events_doc ON document_events (doc_seq);
CREATE INDEX document_authors_doc ON document_authors (doc_seq);
CREATE INDEX document_references_doc ON document_references (doc_seq);
CREATE INDEX submission_sets_patient_status ON submission_sets (patient_id, status, seq);
CREATE INDEX submission_set_authors_set ON submission_set_authors (set_seq);
CREATE INDEX folders_patient_status ON folders (patient_id, status, seq);
CREATE INDEX folders_lid ON folders (lid);
CREATE INDEX folder_codes_folder ON folder_codes (folder_seq);
CREATE INDEX associations_source ON associations (source);
CREATE INDEX associations_target ON associations (target);
CREATE INDEX audit_records_patient   ON audit_records (patient_id, seq);
CREATE INDEX audit_records_actor_pid ON audit_records (actor_pid, seq);
CREATE INDEX audit_records_actor_hpr ON audit_records (actor_hpr, seq);
CREATE INDEX audit_records_time      ON audit_records (recorded_ms);
CREATE INDEX audit_records_flagged   ON audit_records (seq) WHERE flagged = 1;
CREATE INDEX audit_record_entities_entity ON audit_record_entities (entity_id, seq);
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
CREATE TRIGGER audit_records_no_replace BEFORE INSERT ON audit_records
WHEN EXISTS (SELECT 1 FROM audit_records WHERE seq = NEW.seq OR id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_record_entities_no_replace BEFORE INSERT ON audit_record_entities
WHEN EXISTS (SELECT 1 FROM audit_record_entities WHERE seq = NEW.seq AND entity_id = NEW.entity_id)
BEGIN SELECT RAISE(ABORT, 'audit_record_entities is append-only'); END;
CREATE TRIGGER audit_heads_no_replace BEFORE INSERT ON audit_heads
WHEN EXISTS (SELECT 1 FROM audit_heads WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'audit_heads is append-only'); END;
CREATE INDEX patient_blocks_patient ON patient_blocks (patient_id);
