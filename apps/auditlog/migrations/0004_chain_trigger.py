from django.db import migrations

# The hash chain is assigned inside the database, so every writer (any process, any connection)
# produces one chain. The BEFORE INSERT trigger takes a transaction-scoped advisory lock (held to
# commit: the next writer waits and then reads the head this one wrote), reads the head, and sets
# seq = head + 1, prev_hash = head's hash, row_hash = audit_log_row_hash(row).
#
# The canonical text is a JSON array of every column (timestamps as UTC text, so no session
# setting changes it) ending with prev_hash; JSON keeps NULL apart from "" and escapes every
# separator. apps.trail.chain verifies rows with this same function.
CHAIN = """
CREATE FUNCTION audit_log_row_hash(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    r.seq, r.id::text, to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    r.actor_type, r.actor_id, r.actor_brand_id, r.event_type, r.entity_type, r.entity_id, r.brand_id,
    r.request_id, r.details, r.subject_id, to_jsonb(r.subject_ids), r.prev_hash
  )::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(4702111234474983745);  -- 'AUDITCHA' as a bigint
  SELECT seq, row_hash INTO head_seq, head_hash FROM audit_log_chain_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    head_seq := 0;
    head_hash := repeat('0', 64);
    INSERT INTO audit_log_chain_head (id, seq, row_hash) VALUES (1, 0, head_hash);
  END IF;
  NEW.seq := head_seq + 1;
  NEW.prev_hash := head_hash;
  NEW.row_hash := audit_log_row_hash(NEW);
  UPDATE audit_log_chain_head SET seq = NEW.seq, row_hash = NEW.row_hash WHERE id = 1;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- Rows written before the chain existed join it in (occurred_at, id) order.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
DO $$
DECLARE
  r audit_log;
  n bigint := 0;
  prev text := repeat('0', 64);
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY occurred_at, id LOOP
    n := n + 1;
    r.seq := n;
    r.prev_hash := prev;
    prev := audit_log_row_hash(r);
    UPDATE audit_log SET seq = n, prev_hash = r.prev_hash, row_hash = prev WHERE id = r.id;
  END LOOP;
  INSERT INTO audit_log_chain_head (id, seq, row_hash) VALUES (1, n, prev);
END;
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;
"""

REMOVE = """
DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION audit_log_chain();
DROP FUNCTION audit_log_row_hash(audit_log);
DELETE FROM audit_log_chain_head;
"""


class Migration(migrations.Migration):
    dependencies = [("auditlog", "0003_subjects_and_chain")]

    operations = [migrations.RunSQL(CHAIN, REMOVE)]
