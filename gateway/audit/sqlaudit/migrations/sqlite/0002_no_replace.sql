-- INSERT OR REPLACE (and REPLACE INTO) resolves a key conflict by deleting
-- the row that is in the way, and SQLite fires no DELETE trigger for that
-- (unless recursive_triggers is on, which a connection chooses for
-- itself): a record could be changed or removed past the triggers of
-- 0001. Refuse any insert whose keys are taken, before the conflict
-- resolution runs. A plain INSERT with a taken key fails either way.
CREATE TRIGGER audit_records_no_replace BEFORE INSERT ON audit_records
WHEN EXISTS (SELECT 1 FROM audit_records WHERE seq = NEW.seq OR id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END;
CREATE TRIGGER audit_record_entities_no_replace BEFORE INSERT ON audit_record_entities
WHEN EXISTS (SELECT 1 FROM audit_record_entities WHERE seq = NEW.seq AND entity_id = NEW.entity_id)
BEGIN SELECT RAISE(ABORT, 'audit_record_entities is append-only'); END;
CREATE TRIGGER audit_heads_no_replace BEFORE INSERT ON audit_heads
WHEN EXISTS (SELECT 1 FROM audit_heads WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'audit_heads is append-only'); END;
