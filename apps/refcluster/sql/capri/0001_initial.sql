CREATE TABLE program_enrollments (
  id           UUID PRIMARY KEY,
  brand_id     TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  program      TEXT NOT NULL,
  status       TEXT NOT NULL,
  enrolled_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX program_enrollments_user_idx ON program_enrollments (user_id);

CREATE TABLE check_ins (
  id             UUID PRIMARY KEY,
  brand_id       TEXT NOT NULL,
  enrollment_id  UUID NOT NULL REFERENCES program_enrollments (id),
  answers        JSONB NOT NULL,
  submitted_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX check_ins_enrollment_idx ON check_ins (enrollment_id, submitted_at);
