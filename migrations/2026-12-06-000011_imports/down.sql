DROP TRIGGER members_count_insert ON members;
DROP FUNCTION members_count_insert();
DROP TRIGGER members_count ON members;
CREATE TRIGGER members_count AFTER INSERT OR DELETE OR UPDATE OF status, organisation_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_count_change();
DROP INDEX audit_events_import_idx;
ALTER TABLE audit_events DROP COLUMN import_id;
DROP TABLE imports;
